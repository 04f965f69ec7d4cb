import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openToAll, RUN_AS_NOBODY } from './cli';
import { writeConfig } from './tree';

export type Workspace = { root: string; src: string; dest: string; state: string; config: string; cleanup: () => void };

export type RuleSpec = {
  name?: string;
  mode?: 'backup' | 'mirror' | 'move';
  match?: string[];
  path?: string;
  to?: string[];
};

/**
 * A temp directory with a source folder, a local destination, a state dir and a config file.
 * Opened to everyone when the tests run Ferry as `nobody` (see RUN_AS_NOBODY).
 */
export function workspace(opts: { rules?: RuleSpec[]; settings?: string; extraDestinations?: string } = {}): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'ferry-it-'));
  const src = join(root, 'src');
  const dest = join(root, 'dest');
  const state = join(root, 'state');
  for (const d of [src, dest]) mkdirSync(d);
  if (RUN_AS_NOBODY) for (const d of [root, src, dest]) openToAll(d);
  const rules = opts.rules ?? [{ mode: 'mirror' }];
  const yaml = [
    'folders:',
    `  - id: work`,
    `    path: ${JSON.stringify(src)}`,
    'destinations:',
    `  - id: nas`,
    `    type: local`,
    `    path: ${JSON.stringify(dest)}`,
    opts.extraDestinations ?? '',
    'rules:',
    ...rules.flatMap((r, i) => [
      `  - name: ${JSON.stringify(r.name ?? `rule ${i}`)}`,
      `    from: [work]`,
      `    to: [${(r.to ?? ['nas']).join(', ')}]`,
      `    mode: ${r.mode ?? 'mirror'}`,
      ...(r.match ? [`    match: ${JSON.stringify(r.match)}`] : []),
      ...(r.path ? [`    path: ${JSON.stringify(r.path)}`] : []),
    ]),
    opts.settings ? `settings:\n${opts.settings}` : '',
  ].join('\n');
  const config = writeConfig(join(root, 'ferry.yml'), `${yaml}\n`);
  return { root, src, dest, state, config, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
