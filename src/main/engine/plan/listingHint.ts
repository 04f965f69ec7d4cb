import type { Readable, RemoteEntry } from '../providers/types';

const STATS_AT_ONCE = 8;

/**
 * A listing is a hint, not proof of absence: servers leave files out of listings that they still
 * hold (nginx's dav_ext skips every name that starts with a dot; an eventually consistent store may
 * not list a fresh object yet). Before the plan acts on "the destination lacks it" — a mirror or
 * backup sending the file again, a two-way pass moving the local copy to the trash — each path the
 * records say is there (`expected`) and the listing lacks is looked at with a stat; what the stat
 * finds joins the listing. A stat that fails throws: the listing then counts as failed, so that
 * nothing is deleted on its strength.
 */
export async function confirmUnlisted(
  dest: Pick<Readable, 'stat'>,
  listed: Map<string, RemoteEntry>,
  expected: Iterable<string>,
  signal?: AbortSignal,
): Promise<{ looked: number; found: number }> {
  const missing = [...new Set(expected)].filter((p) => !listed.has(p));
  let next = 0;
  let found = 0;
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const path = missing[next++] as string;
      const e = await dest.stat(path, signal);
      if (e && !e.partial) {
        listed.set(path, e);
        found++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(STATS_AT_ONCE, missing.length) }, worker));
  return { looked: missing.length, found };
}
