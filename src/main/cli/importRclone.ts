import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { FerryConfig } from '../../shared/config';
import { updateConfigText } from '../engine/config/configWriter';
import { ConfigError, configFromObject, parseConfig } from '../engine/config/loadConfig';
import { readIfThere, writeAtomically } from '../engine/host/api';
import { importRemote, type ImportResult } from '../engine/rclone/importRemotes';
import { parseRcloneConf, RcloneConfError, type RcloneRemote } from '../engine/rclone/rcloneConf';
import type { Keychain } from '../engine/secrets/secrets';
import { EXIT, ExitError } from './exit';

export type ImportOutcome = ImportResult | { remote: string; type: string; ok: false; reason: string; ignored: [] };

/** Reads rclone.conf; a missing or unreadable file is named with where rclone keeps it (exit 2). */
export function readRcloneConf(file: string): RcloneRemote[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ExitError(
      EXIT.usage,
      `${file}: cannot read the rclone config (${code === 'ENOENT' ? 'it does not exist' : (code ?? 'error')}); \`rclone config file\` prints where yours is, give it with --rclone-config`,
    );
  }
  try {
    return parseRcloneConf(text, file);
  } catch (err) {
    if (err instanceof RcloneConfError) throw new ExitError(EXIT.usage, err.message);
    throw err;
  }
}

/**
 * `ferry import-rclone`: each remote asked for (all, when none is) becomes a destination of the Ferry
 * config, its secrets kept in `keychain` and referred to as `keychain:NAME`; the config is rewritten
 * keeping what the person wrote (comments, order). Nothing is written when the result would not be a
 * valid config.
 */
export function importRclone(
  remotes: RcloneRemote[],
  asked: string[],
  configPath: string,
  keychain: Keychain,
): ImportOutcome[] {
  const wanted = asked.length === 0 ? remotes.map((r) => ({ name: r.name, path: '' })) : asked.map(splitRemote);
  const unknown = wanted.filter((w) => !remotes.some((r) => r.name === w.name));
  if (unknown.length > 0)
    throw new ExitError(
      EXIT.usage,
      `no remote ${unknown.map((u) => `"${u.name}"`).join(', ')} in the rclone config (remotes: ${remotes.map((r) => r.name).join(', ') || 'none'})`,
    );
  const file = resolve(configPath);
  const baseDir = dirname(file);
  const oldText = readIfThere(file);
  let cfg: FerryConfig;
  try {
    cfg = parseConfig(oldText, file, baseDir);
  } catch (err) {
    if (err instanceof ConfigError) throw new ExitError(EXIT.usage, `Invalid configuration:\n${err.message}`);
    throw err;
  }
  const outcomes: ImportOutcome[] = [];
  const destinations = [...cfg.destinations];
  for (const w of wanted) {
    const remote = remotes.find((r) => r.name === w.name) as RcloneRemote;
    const result = importRemote(remote, w.path);
    if (result.ok && destinations.some((d) => d.id === result.destination.id)) {
      outcomes.push({
        remote: remote.name,
        type: result.type,
        ok: false,
        reason: `the config already has a destination "${result.destination.id}": nothing changed (remove or rename it to import again)`,
        ignored: [],
      });
      continue;
    }
    if (result.ok) destinations.push(result.destination);
    outcomes.push(result);
  }
  const added = outcomes.filter((o): o is Extract<ImportResult, { ok: true }> => o.ok);
  if (added.length === 0) return outcomes;
  const next = { ...cfg, destinations };
  try {
    configFromObject(next, file, baseDir);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ExitError(EXIT.usage, `the imported destinations do not make a valid configuration:\n${err.message}`);
    throw err;
  }
  // Secrets first: a config that refers to a secret not kept yet would fail every connection.
  for (const o of added) for (const s of o.secrets) keychain.set(s.name, s.value);
  // A new file gets what was imported, not every default spelled out.
  writeAtomically(
    file,
    oldText.trim() === ''
      ? stringify({ folders: [], destinations: destinations, rules: [] })
      : updateConfigText(oldText, next, file, baseDir),
  );
  return outcomes;
}

/** `NAME` or `NAME:PATH` (rclone's own way to say a bucket or a folder of a remote). */
function splitRemote(arg: string): { name: string; path: string } {
  const colon = arg.indexOf(':');
  return colon < 0 ? { name: arg, path: '' } : { name: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export function importLines(outcomes: readonly ImportOutcome[], configPath: string, keychainWhere: string): string[] {
  const lines: string[] = [];
  for (const o of outcomes) {
    if (o.ok) {
      const refs = o.secrets.map((s) => `keychain:${s.name}`);
      lines.push(
        `✓ ${o.remote} (${o.type}) → destination "${o.destination.id}" (${o.destination.type})${refs.length > 0 ? `; secrets kept as ${refs.join(', ')}` : ''}`,
      );
    } else lines.push(`✗ ${o.remote}${o.type ? ` (${o.type})` : ''}: not imported: ${o.reason}`);
    for (const i of o.ignored) lines.push(`    ignored ${i.option}: ${i.reason}`);
  }
  const n = outcomes.filter((o) => o.ok).length;
  if (n > 0)
    lines.push(
      `${n} destination${n === 1 ? '' : 's'} added to ${configPath}; secrets in ${keychainWhere}. Test ${n === 1 ? 'it' : 'them'} with: ferry check --config ${configPath}`,
    );
  return lines;
}
