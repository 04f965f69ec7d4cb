import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import type { FerryConfig } from '../../../shared/config';
import type { ConfigUpdateResult } from '../../../shared/contract';
import { request } from './bridge';
import { useRequest } from './query';

export type Problem = { path: string; message: string };

/** The configuration as the engine holds it (defaults filled in). */
export function useConfig() {
  return useRequest('config:get', {});
}

/**
 * Saves a whole new configuration through the contract (validated by the engine against the one schema,
 * written atomically, applied without a restart). Problems come back with their field path, e.g.
 * `rules[1].when.any[0].regex`, for the form to show on the field.
 */
export function useSaveConfig() {
  const client = useQueryClient();
  const [saving, setSaving] = useState(false);
  const save = useCallback(
    async (next: FerryConfig): Promise<ConfigUpdateResult> => {
      setSaving(true);
      try {
        const result = await request('config:update', { config: next });
        if (result.ok) await client.invalidateQueries();
        return result;
      } finally {
        setSaving(false);
      }
    },
    [client],
  );
  return { save, saving };
}

/** The problem reported for exactly this field path, if any. */
export function problemAt(problems: readonly Problem[], path: string): string | undefined {
  return problems.find((p) => p.path === path)?.message;
}

/** Problems at or below a path (`rules[2]` → everything about that rule), with the prefix removed. */
export function problemsUnder(problems: readonly Problem[], prefix: string): Problem[] {
  return problems
    .filter((p) => p.path === prefix || p.path.startsWith(`${prefix}.`) || p.path.startsWith(`${prefix}[`))
    .map((p) => ({ path: p.path.slice(prefix.length).replace(/^\./, ''), message: p.message }));
}

/**
 * A problem said with the names a person knows, never a field path: `Rule "photos": unknown folder "work"`
 * rather than `rules[0].from[0]: …`.
 */
export function describeProblem(cfg: Pick<FerryConfig, 'rules' | 'destinations' | 'folders'>, p: Problem): string {
  const m = /^(rules|destinations|folders)\[(\d+)\]/.exec(p.path);
  if (!m) {
    const setting = /^settings\.(\w+)/.exec(p.path)?.[1];
    return setting ? `Setting "${setting.replace(/_/g, ' ')}": ${p.message}` : p.message;
  }
  const i = Number(m[2]);
  const what =
    m[1] === 'rules'
      ? `Rule "${cfg.rules[i]?.name ?? i + 1}"`
      : m[1] === 'destinations'
        ? `Destination "${cfg.destinations[i]?.id ?? i + 1}"`
        : `Folder "${cfg.folders[i]?.id ?? i + 1}"`;
  // The engine already names a rule in its messages (`rule "photos": …`): not twice.
  if (p.message.toLowerCase().startsWith(`${what.toLowerCase()}:`)) return what + p.message.slice(what.length);
  return `${what}: ${p.message}`;
}
