// What the person is told after a tray action whose result is otherwise invisible (a link put on the
// clipboard) or that failed.
import type { Notice } from './notificationBatcher';

function within(ms: number): string {
  const hours = Math.round(ms / 3_600_000);
  if (hours >= 48) return `${Math.round(hours / 24)} days`;
  if (hours >= 1) return hours === 1 ? '1 hour' : `${hours} hours`;
  return `${Math.max(1, Math.round(ms / 60_000))} minutes`;
}

export function shareLinkCopied(link: { url: string; expiresAt: number | null }, now: number): Notice {
  return {
    title: 'Share link copied',
    body:
      link.expiresAt === null
        ? 'The link opens the file from this computer’s disk.'
        : `Anyone with the link can download the file for the next ${within(link.expiresAt - now)}.`,
  };
}

export function actionFailed(what: string, err: unknown): Notice {
  const message = err instanceof Error ? err.message : String(err);
  return { title: `Ferry could not ${what}`, body: message };
}
