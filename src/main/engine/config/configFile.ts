import { readFileSync } from 'node:fs';

/** A file's text, or '' when there is none yet (a first run writes the config from scratch). */
export function readIfThere(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
