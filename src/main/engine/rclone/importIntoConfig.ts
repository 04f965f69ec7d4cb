import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { FerryConfig } from '../../../shared/config';
import type { RcloneImportOutcome, RcloneRemoteInfo } from '../../../shared/contract';
import { FerryError } from '../../../shared/errors';
import { updateConfigText } from '../config/configWriter';
import { ConfigError, configFromObject, parseConfig } from '../config/loadConfig';
import { readIfThere } from '../config/configFile';
import { writeFileAtomically } from '../files/atomicWrite';
import type { Keychain } from '../secrets/secrets';
import { importRemote, type ImportResult } from './importRemotes';
import { parseRcloneConf, RcloneConfError, type RcloneRemote } from './rcloneConf';

/** Codes of the errors that are the person's input (the CLI exits 2 on them). */
export const IMPORT_USAGE_CODES = new Set(['rclone-config-unreadable', 'rclone-remote-unknown', 'config-invalid']);

/** Reads rclone.conf; a missing or unreadable file is named with where rclone keeps it. */
export function readRcloneRemotes(file: string): RcloneRemote[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FerryError(
      'permanent',
      'rclone-config-unreadable',
      `${file}: cannot read the rclone config (${code === 'ENOENT' ? 'it does not exist' : (code ?? 'error')})`,
      { hint: '`rclone config file` prints where yours is: give that path' },
    );
  }
  try {
    return parseRcloneConf(text, file);
  } catch (err) {
    if (err instanceof RcloneConfError) throw new FerryError('permanent', 'rclone-config-unreadable', err.message);
    throw err;
  }
}

/** Each remote as it would import with no path given (the window lists them to choose from). */
export function describeRemotes(remotes: readonly RcloneRemote[]): RcloneRemoteInfo[] {
  return remotes.map((r) => {
    const res = importRemote(r, '');
    const type = r.options.type ?? '';
    // S3 and GCS name their bucket after the colon: without one they wait for it, they are not refused.
    const needsPath = type === 's3' || type === 'google cloud storage' || type === 'local';
    return res.ok
      ? { name: r.name, type, ok: true, destinationType: res.destination.type, needsPath, ignored: res.ignored }
      : { name: r.name, type, ok: false, reason: res.reason, needsPath, ignored: res.ignored };
  });
}

/** An outcome with its secrets' values replaced by the references the config holds. */
export function shownOutcome(o: ImportResult): RcloneImportOutcome {
  if (!o.ok) return { remote: o.remote, type: o.type, ok: false, reason: o.reason, ignored: o.ignored };
  return {
    remote: o.remote,
    type: o.type,
    ok: true,
    destination: o.destination.id,
    destinationType: o.destination.type,
    secrets: o.secrets.map((s) => `keychain:${s.name}`),
    ignored: o.ignored,
  };
}

/**
 * Adds a destination for each remote asked for (`NAME` or `NAME:PATH`; all when none is) to the Ferry
 * config, its secrets kept in `keychain` first and referred to as `keychain:NAME`; the config file is
 * rewritten keeping what the person wrote (comments, order), and only when the result is valid.
 * Answers each remote's outcome and the new configuration (undefined when nothing was added).
 */
export function importIntoConfig(
  remotes: RcloneRemote[],
  asked: readonly string[],
  configPath: string,
  keychain: Keychain,
): { outcomes: RcloneImportOutcome[]; config: FerryConfig | undefined } {
  const wanted = asked.length === 0 ? remotes.map((r) => ({ name: r.name, path: '' })) : asked.map(splitRemote);
  const unknown = wanted.filter((w) => !remotes.some((r) => r.name === w.name));
  if (unknown.length > 0)
    throw new FerryError(
      'not-found',
      'rclone-remote-unknown',
      `no remote ${unknown.map((u) => `"${u.name}"`).join(', ')} in the rclone config (remotes: ${remotes.map((r) => r.name).join(', ') || 'none'})`,
    );
  const file = resolve(configPath);
  const baseDir = dirname(file);
  const oldText = readIfThere(file);
  let cfg: FerryConfig;
  try {
    cfg = parseConfig(oldText, file, baseDir);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new FerryError('permanent', 'config-invalid', `Invalid configuration:\n${err.message}`);
    throw err;
  }
  const outcomes: RcloneImportOutcome[] = [];
  const added: Extract<ImportResult, { ok: true }>[] = [];
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
    if (result.ok) {
      destinations.push(result.destination);
      added.push(result);
    }
    outcomes.push(shownOutcome(result));
  }
  if (added.length === 0) return { outcomes, config: undefined };
  const next = { ...cfg, destinations };
  let config: FerryConfig;
  try {
    config = configFromObject(next, file, baseDir);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new FerryError(
        'permanent',
        'config-invalid',
        `the imported destinations do not make a valid configuration:\n${err.message}`,
      );
    throw err;
  }
  // Secrets first: a config that refers to a secret not kept yet would fail every connection.
  for (const o of added) for (const s of o.secrets) keychain.set(s.name, s.value);
  // A new file gets what was imported, not every default spelled out.
  writeFileAtomically(
    file,
    oldText.trim() === ''
      ? stringify({ folders: [], destinations, rules: [] })
      : updateConfigText(oldText, next, file, baseDir),
  );
  return { outcomes, config };
}

/** `NAME` or `NAME:PATH` (rclone's own way to say a bucket or a folder of a remote). */
function splitRemote(arg: string): { name: string; path: string } {
  const colon = arg.indexOf(':');
  return colon < 0 ? { name: arg, path: '' } : { name: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export function importLines(
  outcomes: readonly RcloneImportOutcome[],
  configPath: string,
  keychainWhere: string,
): string[] {
  const lines: string[] = [];
  for (const o of outcomes) {
    if (o.ok)
      lines.push(
        `✓ ${o.remote} (${o.type}) → destination "${o.destination}" (${o.destinationType})${o.secrets.length > 0 ? `; secrets kept as ${o.secrets.join(', ')}` : ''}`,
      );
    else lines.push(`✗ ${o.remote}${o.type ? ` (${o.type})` : ''}: not imported: ${o.reason}`);
    for (const i of o.ignored) lines.push(`    ignored ${i.option}: ${i.reason}`);
  }
  const n = outcomes.filter((o) => o.ok).length;
  if (n > 0)
    lines.push(
      `${n} destination${n === 1 ? '' : 's'} added to ${configPath}; secrets in ${keychainWhere}. Test ${n === 1 ? 'it' : 'them'} with: ferry check --config ${configPath}`,
    );
  return lines;
}
