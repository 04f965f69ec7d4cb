import { homedir } from 'node:os';
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
