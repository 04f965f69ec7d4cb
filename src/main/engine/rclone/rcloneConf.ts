import { homedir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';

/** One remote of an rclone.conf: its name and its options as written (`type` among them). */
export type RcloneRemote = { name: string; options: Record<string, string> };

export class RcloneConfError extends Error {}

/**
 * rclone.conf is an INI file: `[name]` sections of `key = value` lines; `#` and `;` start comments;
 * values are not quoted. A file rclone encrypted (`rclone config encryption`) cannot be read here.
 */
export function parseRcloneConf(text: string, file: string): RcloneRemote[] {
  if (/^RCLONE_ENCRYPT_V\d+:/m.test(text))
    throw new RcloneConfError(
      `${file} is encrypted by rclone: Ferry cannot read it (decrypt a copy with \`rclone config show > FILE\` after unlocking, and import from that, then delete it)`,
    );
  const remotes: RcloneRemote[] = [];
  let current: RcloneRemote | undefined;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = { name: (section[1] as string).trim(), options: {} };
      remotes.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current)
      throw new RcloneConfError(`${file}:${i + 1}: "${line}" is neither a [remote] line nor a key = value line`);
    current.options[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return remotes;
}

/** Where rclone itself looks for its config: $RCLONE_CONFIG, the XDG config folder, then ~/.rclone.conf. */
export function defaultRcloneConf(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RCLONE_CONFIG) return env.RCLONE_CONFIG;
  const xdg = join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'rclone', 'rclone.conf');
  const legacy = join(homedir(), '.rclone.conf');
  return !existsSync(xdg) && existsSync(legacy) ? legacy : xdg;
}
