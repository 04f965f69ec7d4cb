import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runFerry } from '../helpers/cli';
import { writeConfig } from '../helpers/tree';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => {
  ws?.cleanup();
  ws = undefined;
});

describe('a destination inside its own source folder', () => {
  it('is refused before anything is copied: exit 2, the field and its line named, nothing written', async () => {
    const w = (ws = workspace());
    writeFileSync(join(w.src, 'a.txt'), 'a');
    const inside = join(w.src, 'backup');
    writeConfig(
      w.config,
      [
        'folders:',
        `  - id: work`,
        `    path: ${JSON.stringify(w.src)}`,
        'destinations:',
        `  - id: nas`,
        `    type: local`,
        `    path: ${JSON.stringify(inside)}`,
        'rules:',
        `  - name: r`,
        `    from: [work]`,
        `    to: [nas]`,
        '',
      ].join('\n'),
    );
    for (const cmd of [['sync', '--once'], ['plan'], ['daemon']]) {
      const r = await runFerry([...cmd, '--config', w.config, '--state-dir', w.state]);
      expect(r.code, `${cmd.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${w.config}:7:11: destinations[0].path: destination "nas"`);
      expect(r.stderr).toMatch(/is inside folder "work" .*: every copy would be a new file of the folder/);
    }
    expect(existsSync(inside)).toBe(false);
  });
});
