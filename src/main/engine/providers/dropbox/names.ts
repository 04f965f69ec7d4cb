import { FerryError } from '../../../../shared/errors';

/**
 * Names Dropbox will not hold (https://help.dropbox.com/organize/file-names and the files/upload
 * documentation): the system files its clients ignore and its API refuses (`disallowed_name`), names
 * ending in a space or a dot, and characters that its path rules or its Windows clients cannot carry
 * (`/ \ < > : " | ? *` and control characters). Ferry refuses them before sending anything, per file,
 * saying which name and what to do; the other files go on.
 */
const IGNORED = new Set(['desktop.ini', 'thumbs.db', '.ds_store', 'icon\r', '.dropbox', '.dropbox.attr']);
const FORBIDDEN_CHARS = new Set(['\\', '<', '>', ':', '"', '|', '?', '*']);

/** The first character Dropbox does not allow in a name: one of the set, or a control character. */
function forbiddenChar(name: string): string | undefined {
  for (const ch of name) {
    const code = ch.charCodeAt(0);
    if (FORBIDDEN_CHARS.has(ch) || code < 0x20 || code === 0x7f) return ch;
  }
  return undefined;
}

function describe(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x20 || code === 0x7f
    ? `a control character (U+${code.toString(16).padStart(4, '0').toUpperCase()})`
    : `"${ch}"`;
}

/** Why Dropbox cannot hold this path (relative, already normalized), or undefined. */
export function dropboxNameProblem(rel: string): string | undefined {
  for (const name of rel.split('/')) {
    const shown = JSON.stringify(name);
    if (IGNORED.has(name.toLowerCase())) return `${shown} is a system file name that Dropbox refuses to store`;
    const bad = forbiddenChar(name);
    if (bad !== undefined) return `${shown} contains ${describe(bad)}, which Dropbox does not allow in names`;
    if (name.endsWith(' ')) return `${shown} ends with a space, which Dropbox does not allow`;
    if (name.endsWith('.')) return `${shown} ends with a dot, which Dropbox does not allow`;
  }
  return undefined;
}

export function checkDropboxName(rel: string, destination: string): void {
  const problem = dropboxNameProblem(rel);
  if (problem)
    throw new FerryError('invalid-name', 'invalid-name', problem, {
      context: { destination, remotePath: rel },
      hint: "rename the file (or map it to another name with the rule's path template); the other files are shipped",
    });
}
