import { describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { confirmUnlisted } from '../../src/main/engine/plan/listingHint';
import type { RemoteEntry } from '../../src/main/engine/providers/types';

/** A destination that holds more than it lists (as nginx's dav_ext does with dot-names). */
function holding(files: Record<string, number>, failOn?: string) {
  const looked: string[] = [];
  return {
    looked,
    stat: async (path: string): Promise<RemoteEntry | undefined> => {
      looked.push(path);
      if (path === failOn) throw new FerryError('retryable', 'ECONNRESET', 'the connection broke');
      const size = files[path];
      return size === undefined ? undefined : { path, size, version: `v-${path}` };
    },
  };
}

describe('a listing is a hint: what the records expect and the listing lacks is looked at', () => {
  it('adds what the stat finds, leaves out what it does not, and looks only at what is missing', async () => {
    const dest = holding({ 'a.txt': 1, '.gitignore': 2, '.git/HEAD': 3 });
    const listed = new Map<string, RemoteEntry>([['a.txt', { path: 'a.txt', size: 1 }]]);
    const r = await confirmUnlisted(dest, listed, ['a.txt', '.gitignore', '.git/HEAD', 'gone.txt', '.gitignore']);
    expect(r).toEqual({ looked: 3, found: 2 });
    expect(dest.looked.sort()).toEqual(['.git/HEAD', '.gitignore', 'gone.txt']);
    expect([...listed.keys()].sort()).toEqual(['.git/HEAD', '.gitignore', 'a.txt']);
    expect(listed.get('.git/HEAD')).toEqual({ path: '.git/HEAD', size: 3, version: 'v-.git/HEAD' });
  });

  it('a stat that fails fails the whole confirmation: no absence is inferred from it', async () => {
    const dest = holding({ '.env': 1 }, '.env');
    await expect(confirmUnlisted(dest, new Map(), ['.env'])).rejects.toThrow(/connection broke/);
  });
});
