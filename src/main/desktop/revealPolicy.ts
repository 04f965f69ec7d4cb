import { posix, win32 } from 'node:path';
import type { FerryConfig } from '../../shared/config';

export type RevealDecision = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Whether the window may have the file manager show `requested`: an absolute path inside (or equal
 * to) one of the configured folders or local destinations. The window is trusted only as far as
 * the config goes; anything else on the disk is refused. `config` holds absolute paths (as
 * loadConfig resolves them).
 */
export function revealDecision(
  requested: unknown,
  config: Pick<FerryConfig, 'folders' | 'destinations'>,
  platform: NodeJS.Platform = process.platform,
): RevealDecision {
  const path = platform === 'win32' ? win32 : posix;
  if (typeof requested !== 'string' || requested === '') return { ok: false, reason: 'no path given' };
  if (requested.includes('\0')) return { ok: false, reason: 'the path holds a NUL character' };
  // A UNC or device path on Windows (\\server\share, \\?\…) is not shown unless a root is one too.
  if (!path.isAbsolute(requested)) return { ok: false, reason: `"${requested}" is not an absolute path` };
  const target = path.resolve(requested);
  const roots = [
    ...config.folders.map((f) => f.path),
    ...config.destinations.flatMap((d) => (d.type === 'local' ? [d.path] : [])),
  ];
  for (const root of roots) {
    if (!path.isAbsolute(root)) continue;
    if (within(path, path.resolve(root), target, platform)) return { ok: true, path: target };
  }
  return { ok: false, reason: `${target} is not inside a folder or a local destination of the configuration` };
}

function within(path: typeof posix, root: string, target: string, platform: NodeJS.Platform): boolean {
  // Windows paths are case-insensitive (C:\ and c:\ are one drive); elsewhere compare as written.
  const fold = platform === 'win32';
  const rel = path.relative(fold ? root.toLowerCase() : root, fold ? target.toLowerCase() : target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
