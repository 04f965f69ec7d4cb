import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDestination } from '../../src/main/engine/host/destinationTest';
import { FtpDestination } from '../../src/main/engine/providers/ftp/ftpProvider';
import { defaultFactories } from '../../src/main/engine/providers/registry';
import { failure, ftpConfig, ftpDeps, ownedFolder, sourceOf, tempsBelow } from '../helpers/ftpDest';
import type { FtpServer, FtpTlsMode } from '../servers/ftpKit';
import { startTcpFaultProxy } from '../servers/tcpFaultProxy';
import { providerConformance, type ConformanceClaims } from './providerSuite';

/**
 * What every FTP server people run must pass: the provider conformance suite over explicit TLS and
 * over plain FTP, empty files over TLS every time, a TLS mismatch in either direction named as such,
 * and a check that names the step that failed. `start` starts the server with the TLS mode asked.
 */
export function ftpServerSuite(
  label: string,
  start: (tls: FtpTlsMode) => Promise<FtpServer>,
  claims: ConformanceClaims = {},
): {
  server: () => FtpServer;
  work: () => string;
} {
  let srv: FtpServer;
  let work: string;
  beforeAll(async () => {
    srv = await start('optional');
    work = mkdtempSync(join(tmpdir(), 'ferry-ftp-servers-'));
  });
  afterAll(async () => {
    await srv?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  providerConformance(
    `ftp (${label}, explicit TLS)`,
    async () => ({
      dest: new FtpDestination(ftpConfig(srv, { path: ownedFolder(srv, 'tls') }), ftpDeps()),
    }),
    claims,
  );
  providerConformance(
    `ftp (${label}, no TLS)`,
    async () => ({
      dest: new FtpDestination(ftpConfig(srv, { path: ownedFolder(srv, 'plain'), tls: 'none' }), ftpDeps()),
    }),
    claims,
  );

  describe(`ftp on ${label}`, () => {
    it('leaves no temporary file after the conformance suites', () => {
      expect(tempsBelow(srv.dataDir)).toEqual([]);
    });

    it('uploads empty files over TLS every time: on fresh connections and one after another on the same one', async () => {
      const path = ownedFolder(srv, 'empty');
      const signal = new AbortController().signal;
      const failures: string[] = [];
      // A new destination each time: every upload is the first data connection of its control connection.
      for (let i = 0; i < 12; i++) {
        const dest = new FtpDestination(ftpConfig(srv, { path, connections: 1 }), ftpDeps());
        try {
          await dest.upload(`fresh-${i}`, sourceOf(work, Buffer.alloc(0)), { signal });
        } catch (err) {
          failures.push(`fresh-${i}: ${(err as Error).message}`);
        } finally {
          await dest.close();
        }
      }
      const dest = new FtpDestination(ftpConfig(srv, { path, connections: 1 }), ftpDeps());
      try {
        for (let i = 0; i < 12; i++)
          await dest
            .upload(`row-${i}`, sourceOf(work, Buffer.alloc(0)), { signal })
            .catch((err: unknown) => failures.push(`row-${i}: ${(err as Error).message}`));
        // The check writes an empty probe too.
        await dest.check().catch((err: unknown) => failures.push(`check: ${(err as Error).message}`));
      } finally {
        await dest.close();
      }
      expect(failures).toEqual([]);
      for (const name of [...Array(12).keys()].flatMap((i) => [`fresh-${i}`, `row-${i}`]))
        expect(statSync(join(srv.dataDir, 'empty', name)).size, name).toBe(0);
    });

    it('reports TLS asked of a server without it as a TLS mismatch at the connect step, not a wrong password', async () => {
      const plainOnly = await start('off');
      try {
        const cfg = ftpConfig(plainOnly, { path: ownedFolder(plainOnly, 'x') });
        const err = await failure(new FtpDestination(cfg, ftpDeps()).check());
        expect(err.code, err.message).toBe('tls-mismatch');
        expect(err.message).toMatch(/TLS/);
        expect(err.hint).toMatch(/tls: none/);
        const r = await testDestination(cfg, defaultFactories(), ftpDeps());
        expect(r.step).toBe('connect');
        // Implicit TLS on a plain FTP port: the handshake meets the server's plain-text greeting.
        const implicit = await failure(new FtpDestination({ ...cfg, tls: 'implicit' }, ftpDeps()).check());
        expect(implicit.code, implicit.message).toBe('tls-mismatch');
        expect(implicit.hint).toMatch(/tls: explicit/);
        // The same login over plain FTP works: the password was right all along.
        await expect(new FtpDestination({ ...cfg, tls: 'none' }, ftpDeps()).check()).resolves.toBeUndefined();
      } finally {
        await plainOnly.stop();
      }
    });

    it('reports plain FTP refused by a server that requires TLS as a TLS mismatch at the connect step, not a wrong password', async () => {
      const tlsOnly = await start('required');
      try {
        const cfg = ftpConfig(tlsOnly, { path: ownedFolder(tlsOnly, 'x'), tls: 'none' });
        const err = await failure(new FtpDestination(cfg, ftpDeps()).check());
        expect(err.code, err.message).toBe('tls-mismatch');
        expect(err.message).toMatch(/TLS/);
        expect(err.hint).toMatch(/tls: explicit/);
        const r = await testDestination(cfg, defaultFactories(), ftpDeps());
        expect(r.step).toBe('connect');
        await expect(new FtpDestination({ ...cfg, tls: 'explicit' }, ftpDeps()).check()).resolves.toBeUndefined();
      } finally {
        await tlsOnly.stop();
      }
    });

    it('names the write step when the login works but the probe cannot be written (the connection drops at STOR)', async () => {
      // Plain FTP through a proxy that resets the control connection when the client sends STOR.
      const proxy = await startTcpFaultProxy(srv, {
        faults: (p) => (/^STOR /m.test(p.chunk.toString('latin1')) ? 'reset' : undefined),
      });
      try {
        const cfg = ftpConfig(srv, { host: proxy.host, port: proxy.port, tls: 'none', path: ownedFolder(srv, 'w') });
        const r = await testDestination(cfg, defaultFactories(), ftpDeps());
        expect(r.ok).toBe(false);
        expect(r.step, r.message).toBe('write');
        expect(r.message).toMatch(/cannot write/);
        expect(proxy.stats.resets).toBeGreaterThan(0);
      } finally {
        await proxy.close();
      }
    });
  });

  return { server: () => srv, work: () => work };
}
