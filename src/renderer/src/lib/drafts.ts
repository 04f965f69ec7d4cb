/**
 * Half-written forms kept while the person looks at another page: a page unmounts when the route
 * changes, and its state with it. Kept in memory for this window only (no secrets are ever put here;
 * a reload starts afresh), cleared when the form is saved or its draft discarded.
 */
const drafts = new Map<string, unknown>();

export function loadDraft<T>(key: string): T | undefined {
  return drafts.get(key) as T | undefined;
}

export function keepDraft<T>(key: string, value: T): void {
  drafts.set(key, value);
}

export function dropDraft(key: string): void {
  drafts.delete(key);
}
