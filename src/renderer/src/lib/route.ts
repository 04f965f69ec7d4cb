import { useSyncExternalStore } from 'react';

export const PAGES = [
  { id: 'status', label: 'Status' },
  { id: 'queue', label: 'Queue' },
  { id: 'conflicts', label: 'Conflicts' },
  { id: 'folders', label: 'Folders' },
  { id: 'destinations', label: 'Destinations' },
  { id: 'rules', label: 'Rules' },
  { id: 'history', label: 'History' },
  { id: 'versions', label: 'Versions' },
  { id: 'activity', label: 'Activity' },
  { id: 'settings', label: 'Settings' },
] as const;
export type PageId = (typeof PAGES)[number]['id'];

function current(): PageId {
  const id = /^#\/([a-z]+)/.exec(window.location.hash)?.[1];
  return PAGES.some((p) => p.id === id) ? (id as PageId) : 'status';
}

/** The page shown, from the address (`#/queue`): the back button and reloads keep the place. */
export function useRoute(): PageId {
  return useSyncExternalStore((l) => {
    window.addEventListener('hashchange', l);
    return () => window.removeEventListener('hashchange', l);
  }, current);
}

export function hrefOf(page: PageId): string {
  return `#/${page}`;
}

/** The part after the page (`#/queue/failed` → "failed"): a tab a link or a reload lands on. */
export function subRoute(): string | undefined {
  return /^#\/[a-z]+\/([a-z-]+)/.exec(window.location.hash)?.[1];
}

/** Records the tab in the address without a new history entry (Back leaves the page, not the tab). */
export function replaceSubRoute(page: PageId, sub: string): void {
  window.history.replaceState(null, '', `#/${page}/${sub}`);
}
