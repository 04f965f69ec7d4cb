import { createServer } from 'node:net';
import type { ResumeStore } from '../../src/main/engine/providers/types';
import {
  DropboxDestination,
  type DropboxDestinationConfig,
  type DropboxTuning,
} from '../../src/main/engine/providers/dropbox/dropboxProvider';
import type { DropboxEmulator } from './dropboxEmulator';

/** A ResumeStore in memory, with the SQLite store's rule: state comes back only for the same content. */
export function memoryResumeStore(): ResumeStore & { rows: Map<string, { sha256: string; state: unknown }> } {
  const rows = new Map<string, { sha256: string; state: unknown }>();
  const key = (d: string, p: string) => `${d}\u0000${p}`;
  return {
    rows,
    load: (d, p, sha256) => {
      const row = rows.get(key(d, p));
      return row && row.sha256 === sha256 ? structuredClone(row.state) : undefined;
    },
    save: (d, p, sha256, state) => {
      rows.set(key(d, p), { sha256, state: structuredClone(state) });
    },
    clear: (d, p) => {
      rows.delete(key(d, p));
    },
    all: (d) =>
      [...rows]
        .filter(([k]) => k.startsWith(`${d}\u0000`))
        .map(([k, row]) => ({
          remotePath: k.slice(d.length + 1),
          sha256: row.sha256,
          state: structuredClone(row.state),
        })),
  };
}

/** A Dropbox destination pointed at the emulator (or at `endpoint`, a proxy in front of it). */
export function emulatedDropbox(
  emu: DropboxEmulator,
  opts: {
    refreshToken?: string;
    root?: string;
    prefix?: string;
    endpoint?: string;
    resume?: ResumeStore;
    tuning?: DropboxTuning;
    id?: string;
  } = {},
): { dest: DropboxDestination; resume: ResumeStore; refreshToken: string } {
  const refreshToken = opts.refreshToken ?? emu.issueRefreshToken();
  const resume = opts.resume ?? memoryResumeStore();
  const cfg: DropboxDestinationConfig = {
    id: opts.id ?? 'dbx',
    type: 'dropbox',
    root: opts.root ?? '/Ferry',
    app_key: emu.appKey,
    refresh_token: 'env:FERRY_TEST_DROPBOX_TOKEN',
    endpoint: opts.endpoint ?? emu.url,
    ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
  };
  const dest = new DropboxDestination(cfg, { secret: () => refreshToken, resume }, opts.tuning);
  return { dest, resume, refreshToken };
}

/**
 * A loopback redirect URI on a port free right now, registered with the emulator as an app's redirect
 * URI is in the App Console (Dropbox accepts exactly the URIs registered).
 */
export async function registeredRedirectUri(emu: DropboxEmulator): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const a = probe.address();
      probe.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
  const uri = `http://127.0.0.1:${port}/callback`;
  emu.redirectUris.add(uri);
  return uri;
}
