import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { FerryError } from '../../../shared/errors';
import { join } from 'node:path';

/** Where Ferry keeps state.db when neither --state-dir nor settings.state_dir says otherwise. */
export function defaultStateDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Ferry');
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'Ferry');
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'ferry');
}

/** Takes group and other permissions away; what the owner may do stays as it is (a read-only file stays so). */
function closeToOthers(path: string): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(path, mode & 0o700);
}

/**
 * The state directory holds the database (paths, names, history), the daemon's token and the file
 * keychain: only its owner may enter it (0700), and its files are the owner's only (0600). Files made
 * by an earlier version, or a umask that let others read, are closed up too, at every start.
 */
export function makeStateDirPrivate(stateDir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    closeToOthers(stateDir);
  } catch {
    // Not this user's directory: locking it says what is wrong, if anything.
  }
  for (const entry of readdirSync(stateDir, { withFileTypes: true }))
    if (entry.isFile())
      try {
        closeToOthers(join(stateDir, entry.name));
      } catch {
        // Not this user's file: opening it says what is wrong, if anything.
      }
}

/**
 * Creates `file` for its owner only if it is missing, and makes it so if it exists with a looser mode.
 * A file Ferry cannot write is named with what to do (a read-only database would fail later, mid-pass).
 */
export function privateFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new FerryError('permanent', 'state-unavailable', `cannot write ${file} (${code})`, {
      hint:
        code === 'EROFS'
          ? 'the state directory is on a read-only file system: give a writable one with --state-dir'
          : `make it writable for this user (chmod u+w ${JSON.stringify(file)}, or chown it), or give another state directory with --state-dir`,
    });
  }
  try {
    closeToOthers(file);
  } catch {
    // Another user's file this user may write (shared group): its mode is theirs to set.
  }
}
