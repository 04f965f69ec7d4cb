import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResumeStore } from '../../src/main/engine/providers/types';

export type FakeServiceAccount = { email: string; keyId: string; keyFile: string; publicKeyPem: string; json: string };

/**
 * A service-account key as the Cloud console hands it out, for a made-up account: a fresh RSA key pair
 * (node:crypto), the private half in the JSON file, the public half for the emulator to check with.
 */
export function fakeServiceAccount(dir: string, name = 'ferry-test'): FakeServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const email = `${name}@ferry-test-project.iam.gserviceaccount.com`;
  const keyId = `${name}-key-1`;
  const json = JSON.stringify(
    {
      type: 'service_account',
      project_id: 'ferry-test-project',
      private_key_id: keyId,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
    },
    null,
    2,
  );
  const keyFile = join(dir, `${name}.json`);
  writeFileSync(keyFile, json, { mode: 0o600 });
  return { email, keyId, keyFile, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), json };
}

/** A ResumeStore in memory, with the same rule as the SQLite one: state is handed back for the same SHA-256 only. */
export class MemoryResumeStore implements ResumeStore {
  readonly rows = new Map<string, { sha256: string; state: unknown }>();
  load(destination: string, remotePath: string, sha256: string): unknown {
    const row = this.rows.get(`${destination}\n${remotePath}`);
    return row && row.sha256 === sha256 ? structuredClone(row.state) : undefined;
  }
  save(destination: string, remotePath: string, sha256: string, state: unknown): void {
    this.rows.set(`${destination}\n${remotePath}`, { sha256, state: structuredClone(state) });
  }
  clear(destination: string, remotePath: string): void {
    this.rows.delete(`${destination}\n${remotePath}`);
  }
  all(destination: string): { remotePath: string; sha256: string; state: unknown }[] {
    return [...this.rows]
      .filter(([k]) => k.startsWith(`${destination}\n`))
      .map(([k, v]) => ({
        remotePath: k.slice(destination.length + 1),
        sha256: v.sha256,
        state: structuredClone(v.state),
      }));
  }
}
