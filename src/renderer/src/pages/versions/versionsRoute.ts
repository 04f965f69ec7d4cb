/** The Versions page's place in the address: `#/versions?folder=work&path=docs/a.txt` (History and Folders link here). */
export function versionsHref(folder: string, path = ''): string {
  const q = new URLSearchParams({ folder, ...(path ? { path } : {}) });
  return `#/versions?${q.toString()}`;
}

export function versionsTarget(): { folder?: string; path: string } {
  const q = new URLSearchParams(window.location.hash.split('?')[1] ?? '');
  const folder = q.get('folder') ?? undefined;
  return { ...(folder ? { folder } : {}), path: q.get('path') ?? '' };
}

/** `datetime-local` speaks local time without a zone: to and from ms since the epoch. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}
export function fromLocalInput(text: string): number | undefined {
  const ms = new Date(text).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}
