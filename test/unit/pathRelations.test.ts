import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, configFromObject, parseConfig } from '../../src/main/engine/config/loadConfig';
import { updateConfigText } from '../../src/main/engine/config/configWriter';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ferry-overlap-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A config of one folder and local destinations, as YAML. */
function yaml(folder: string, dests: string[], extra = ''): string {
  return [
    'folders:',
    `  - id: work`,
    `    path: ${JSON.stringify(folder)}`,
    extra,
    'destinations:',
    ...dests.flatMap((d, i) => [`  - id: d${i}`, `    type: local`, `    path: ${JSON.stringify(d)}`]),
    'rules:',
    `  - name: r`,
    `    from: [work]`,
    `    to: [${dests.map((_, i) => `d${i}`).join(', ')}]`,
    '',
  ].join('\n');
}

function problems(text: string): { path: string; message: string; line?: number }[] {
  try {
    parseConfig(text, join(root, 'ferry.yml'), root);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('folders and local destinations that overlap are refused', () => {
  it('a destination inside its own folder (the copy-into-itself loop), named at the destination path with its line', () => {
    const found = problems(yaml('X', ['X/backup']));
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('destinations[0].path');
    expect(found[0]?.line).toBe(8);
    expect(found[0]?.message).toMatch(/destination "d0" .* is inside folder "work"/);
    expect(found[0]?.message).toContain('"backup/"');
  });

  it('the folder itself as destination, and a folder inside a destination', () => {
    expect(problems(yaml('X', ['X']))[0]?.message).toMatch(/is the same folder as folder "work"/);
    const inside = problems(yaml('D/work', ['D']));
    expect(inside[0]?.path).toBe('folders[0].path');
    expect(inside[0]?.message).toMatch(/folder "work" .* is inside destination "d0"/);
  });

  it('sees through symbolic links, where the paths exist', () => {
    mkdirSync(join(root, 'real/backup'), { recursive: true });
    symlinkSync(join(root, 'real'), join(root, 'link'));
    // The folder through the link, the destination by its real path: one folder inside the other.
    const found = problems(yaml('link', ['real/backup']));
    expect(found[0]?.message).toMatch(/is inside folder "work" \(.*link, which is .*real through a symbolic link\)/);
    // A destination that does not exist yet, below a link into the folder.
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'real'), join(root, 'elsewhere/into'));
    expect(problems(yaml('real', ['elsewhere/into/not-yet/there']))).toHaveLength(1);
  });

  it('one local destination inside another, or two on one folder', () => {
    expect(problems(yaml('src', ['nas', 'nas/photos']))[0]?.path).toBe('destinations[1].path');
    expect(problems(yaml('src', ['nas', 'nas']))[0]?.message).toMatch(/is the same folder as destination "d0"/);
  });

  it('accepts a destination inside a folder that its ignore patterns leave out, and neighbours', () => {
    expect(problems(yaml('home', ['home/Backup'], '    ignore: ["Backup/"]'))).toEqual([]);
    expect(problems(yaml('home', ['home/Backup/daily'], '    ignore: ["/Backup"]'))).toEqual([]);
    expect(problems(yaml('work', ['work-backup', 'nas/a', 'nas/b']))).toEqual([]);
  });

  it('refuses the same through config:update (configFromObject), with the field path the forms show', () => {
    const cfg = {
      folders: [{ id: 'work', path: join(root, 'X') }],
      destinations: [{ id: 'nas', type: 'local', path: join(root, 'X', 'copy') }],
      rules: [{ name: 'r', from: ['work'], to: ['nas'] }],
    };
    expect(() => configFromObject(cfg, join(root, 'ferry.yml'), root)).toThrow(ConfigError);
    try {
      configFromObject(cfg, join(root, 'ferry.yml'), root);
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.path)).toEqual(['destinations[0].path']);
    }
  });

  it("rewriting a config whose paths overlap keeps the person's comments (the fix is being written)", () => {
    const old = `# mine\n${yaml('X', ['X/backup'])}`;
    const next = parseConfig(yaml('X', [join(root, 'elsewhere')]), join(root, 'ferry.yml'), root);
    expect(updateConfigText(old, next, join(root, 'ferry.yml'), root).startsWith('# mine\n')).toBe(true);
  });
});
