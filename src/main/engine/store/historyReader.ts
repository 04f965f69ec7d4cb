import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HistoryEntry } from '../../../shared/models';
import { openDbReadOnly } from './db';
import { HistoryStore, type HistoryQuery } from './historyStore';

export type HistoryReader = {
  /** Every entry matching the query (its offset and limit ignored), newest first, pages of `pageSize`, one snapshot. */
  all(q: Omit<HistoryQuery, 'offset' | 'limit'>, pageSize?: number): { total: number; items: HistoryEntry[] };
  /** Whether any entry names this destination (one removed from the config keeps its history). */
  hasDestination(id: string): boolean;
  close(): void;
};

/**
 * History read from the state database beside a daemon that may be running (`ferry history`): the
 * same query as the window's History page (`history:query`), read-only, without the state lock.
 * Undefined when Ferry never ran with this state directory.
 */
export function openHistoryReader(stateDir: string): HistoryReader | undefined {
  const file = join(stateDir, 'state.db');
  if (!existsSync(file)) return undefined;
  const db = openDbReadOnly(file);
  const history = new HistoryStore(db);
  return {
    all: (q, pageSize = 1000) =>
      // One read transaction: rows the daemon records meanwhile do not shift the pages.
      db.transaction(() => {
        const first = history.query({ ...q, offset: 0, limit: pageSize });
        const items = [...first.items];
        while (items.length < first.total) {
          const page = history.query({ ...q, offset: items.length, limit: pageSize });
          if (page.items.length === 0) break;
          items.push(...page.items);
        }
        return { total: first.total, items };
      })(),
    hasDestination: (id) => history.query({ destination: id, offset: 0, limit: 1 }).total > 0,
    close: () => db.close(),
  };
}
