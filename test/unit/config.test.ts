import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configFromObject,
  expandHome,
  formatProblem,
  loadConfig,
  parseConfig,
} from '../../src/main/engine/config/loadConfig';
import type { ConfigProblem } from '../../src/main/engine/config/loadConfig';

const FILE = '/etc/ferry/config.yml';
const BASE = '/etc/ferry';

/** Parses text that must be refused and returns the ConfigError. */
function refuse(text: string): ConfigError {
  try {
    parseConfig(text, FILE, BASE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected the config to be refused');
}

function only(err: ConfigError): ConfigProblem {
  expect(err.problems).toHaveLength(1);
  return err.problems[0] as ConfigProblem;
}

const FULL = `# a complete config
folders:
  - id: photos
    path: ~/Pictures
    ignore: ["*.tmp", "node_modules/"]
  - id: docs
    path: ./documents
destinations:
  - id: nas
    type: local
    path: ../backup
  - id: cloud
    type: s3
    bucket: my-bucket
    region: eu-west-1
    access_key_id: env:AWS_ACCESS_KEY_ID
    secret_access_key: env:AWS_SECRET_ACCESS_KEY
rules:
  - name: photos to the cloud
    from: [photos]
    match: ["**/*.jpg"]
    to: [cloud, nas]
    path: "{yyyy}/{mm}/{name}"
    mode: mirror
  - name: docs
    from: [docs]
    to: [nas]
settings:
  transfers: 8
  state_dir: state
`;

describe('parseConfig on a valid config', () => {
  it('parses folders, destinations, rules and settings with defaults filled in', () => {
    const cfg = parseConfig(FULL, FILE, BASE);
    expect(cfg.folders.map((f) => f.id)).toEqual(['photos', 'docs']);
    expect(cfg.folders[0]?.ignore).toEqual(['*.tmp', 'node_modules/']);
    expect(cfg.folders[1]?.ignore).toEqual([]);
    expect(cfg.folders[1]?.paused).toBe(false);

    const cloud = cfg.destinations[1];
    expect(cloud?.type).toBe('s3');
    if (cloud?.type !== 's3') throw new Error('unreachable');
    expect(cloud.bucket).toBe('my-bucket');
    expect(cloud.secret_access_key).toBe('env:AWS_SECRET_ACCESS_KEY');
    expect(cloud.access_key_id).toBe('env:AWS_ACCESS_KEY_ID');

    const [photos, docs] = cfg.rules;
    expect(photos).toMatchObject({ mode: 'mirror', path: '{yyyy}/{mm}/{name}', to: ['cloud', 'nas'], exclude: [] });
    expect(docs).toEqual({
      name: 'docs',
      from: ['docs'],
      to: ['nas'],
      match: ['**'],
      exclude: [],
      path: '{path}',
      mode: 'backup',
      stop: false,
      tags: [],
      hooks: [],
      remote_exclude: [],
    });

    expect(cfg.settings).toMatchObject({ transfers: 8, bandwidth: 0, retries: 5, max_delete_share: 0.5 });
  });

  it('fills every default for an empty document', () => {
    const cfg = parseConfig('', FILE, BASE);
    expect(cfg).toEqual({
      folders: [],
      destinations: [],
      rules: [],
      settings: {
        transfers: 4,
        bandwidth: 0,
        pause_on_battery: true,
        pause_on_metered: true,
        retries: 5,
        max_delete_share: 0.5,
        rescan_interval: 3600,
        hooks: [],
        remote_poll: 60,
        theme: 'system',
        notifications: true,
        start_at_login: false,
      },
    });
  });

  it('expands ~ to the home directory and resolves relative paths against the config directory', () => {
    const cfg = parseConfig(FULL, FILE, BASE);
    expect(cfg.folders[0]?.path).toBe(join(homedir(), 'Pictures'));
    expect(cfg.folders[1]?.path).toBe('/etc/ferry/documents');
    const nas = cfg.destinations[0];
    expect(nas?.type === 'local' && nas.path).toBe('/etc/backup');
    expect(cfg.settings.state_dir).toBe('/etc/ferry/state');
  });

  it('leaves absolute paths as written', () => {
    const cfg = parseConfig('folders:\n  - id: a\n    path: /srv/data\n', FILE, BASE);
    expect(cfg.folders[0]?.path).toBe('/srv/data');
  });
});

describe('expandHome', () => {
  it('expands a bare ~ and ~/ but not ~user or a ~ inside a path', () => {
    expect(expandHome('~')).toBe(homedir());
    expect(expandHome('~/x/y')).toBe(join(homedir(), 'x', 'y'));
    expect(expandHome('~bob/x')).toBe('~bob/x');
    expect(expandHome('a/~/b')).toBe('a/~/b');
  });
});

describe('parseConfig errors name the file, line, column and field path', () => {
  it('reports an unknown destination id in rules[0].to[0] at its line', () => {
    const err = refuse(
      [
        'folders:',
        '  - { id: a, path: /a }',
        'rules:',
        '  - name: r',
        '    from: [a]',
        '    to:',
        '      - nowhere',
        '',
      ].join('\n'),
    );
    const p = only(err);
    expect(p).toMatchObject({ file: FILE, line: 7, column: 9, path: 'rules[0].to[0]' });
    expect(p.message).toContain('unknown destination "nowhere"');
    expect(p.message).toContain('none defined');
    expect(err.message).toBe(`${FILE}:7:9: rules[0].to[0]: ${p.message}`);
  });

  it('reports an unknown folder id in rules[0].from, naming the rule and listing the known folders', () => {
    const err = refuse(
      [
        'folders:',
        '  - { id: a, path: /a }',
        'destinations:',
        '  - { id: d, type: local, path: /d }',
        'rules:',
        '  - { name: r, from: [b], to: [d] }',
        '',
      ].join('\n'),
    );
    const p = only(err);
    expect(p.path).toBe('rules[0].from[0]');
    expect(p.line).toBe(6);
    expect(p.message).toBe('rule "r": unknown folder "b" (folders: a)');
  });

  it('refuses a secret written in clear and asks for a reference', () => {
    const err = refuse(
      ['destinations:', '  - id: s', '    type: s3', '    bucket: b', '    secret_access_key: hunter2', ''].join('\n'),
    );
    const p = only(err);
    expect(p.path).toBe('destinations[0].secret_access_key');
    expect(p.line).toBe(5);
    expect(p.column).toBe(24);
    expect(p.message).toMatch(/reference/);
    expect(p.message).not.toContain('hunter2');
  });

  it('accepts env:, file: and keychain: secret references', () => {
    for (const ref of ['env:X', 'file:/run/secret', 'keychain:ferry-s3'])
      expect(() =>
        parseConfig(`destinations:\n  - { id: s, type: s3, bucket: b, secret_access_key: "${ref}" }\n`, FILE, BASE),
      ).not.toThrow();
  });

  it('reports an unknown field by name', () => {
    const err = refuse(['folders:', '  - id: a', '    path: /a', '    colour: blue', ''].join('\n'));
    const p = only(err);
    expect(p.path).toBe('folders[0]');
    expect(p.line).toBe(2);
    expect(p.message).toBe('unknown field "colour"');
  });

  it('reports an unknown destination type with the list of types', () => {
    const p = only(refuse('destinations:\n  - { id: x, type: floppy }\n'));
    expect(p).toMatchObject({ path: 'destinations[0].type', line: 2, column: 20 });
    expect(p.message).toMatch(/unknown destination type: use one of local, s3/);
  });

  it('reports a missing required field as required', () => {
    const p = only(refuse('folders:\n  - id: a\n'));
    expect(p.path).toBe('folders[0].path');
    expect(p.message).toBe('required: expected string');
  });

  it('reports a value of the wrong type with the type given, not as required (and never the value)', () => {
    expect(only(refuse('folders:\n  - id: a\n    path: 5\n')).message).toBe('expected string, but a number was given');
    expect(only(refuse('folders:\n  - id: a\n    path: [x]\n')).message).toBe('expected string, but a list was given');
    expect(only(refuse('settings:\n  transfers: "4"\n'))).toMatchObject({
      path: 'settings.transfers',
      message: 'expected number, but text was given',
    });
    expect(only(refuse('folders:\n  - id: a\n    path: null\n')).message).toBe(
      'expected string, but nothing (null) was given',
    );
  });

  it('refuses a password inside a URL, naming the field and where the password goes instead', () => {
    const dav = only(
      refuse('destinations:\n  - { id: d, type: webdav, url: "https://alice:hunter2@dav.example/remote" }\n'),
    );
    expect(dav.path).toBe('destinations[0].url');
    expect(dav.message).toMatch(/password in clear.*user: .*password: keychain:NAME/);
    expect(dav.message).not.toContain('hunter2');
    for (const [type, field, extra] of [
      ['http', 'url', ''],
      ['s3', 'endpoint', ', bucket: b'],
      ['gcs', 'endpoint', ', bucket: b'],
    ] as const) {
      const p = only(
        refuse(`destinations:\n  - { id: d, type: ${type}, ${field}: "https://u:pw@h.example/"${extra} }\n`),
      );
      expect(p.path).toBe(`destinations[0].${field}`);
      expect(p.message).toMatch(/password in clear/);
    }
    // A user name alone is no secret.
    expect(() =>
      parseConfig('destinations:\n  - { id: d, type: webdav, url: "https://alice@dav.example/" }\n', FILE, BASE),
    ).not.toThrow();
  });

  it('refuses a credential header written in clear; a reference is fine, and so are other headers', () => {
    const http = (headers: string) =>
      `destinations:\n  - { id: w, type: http, url: "https://h.example/up", headers: ${headers} }\n`;
    for (const name of ['Authorization', 'X-Api-Key', 'Cookie', 'X-Auth-Token']) {
      const p = only(refuse(http(`{ ${name}: "Bearer abc123" }`)));
      expect(p.path).toBe(`destinations[0].headers.${name}`);
      expect(p.message).toMatch(/carries a credential: give its whole value as a reference such as env:VAR/);
      expect(p.message).not.toContain('abc123');
    }
    expect(() => parseConfig(http('{ Authorization: "keychain:w.auth", X-Team: ferry }'), FILE, BASE)).not.toThrow();
  });

  it('refuses an unknown template placeholder', () => {
    const err = refuse(
      [
        'folders: [{ id: a, path: /a }]',
        'destinations: [{ id: d, type: local, path: /d }]',
        'rules:',
        '  - name: r',
        '    from: [a]',
        '    to: [d]',
        '    path: "{yyyy}/{foo}"',
        '',
      ].join('\n'),
    );
    const p = only(err);
    expect(p).toMatchObject({ path: 'rules[0].path', line: 7, column: 11 });
    expect(p.message).toMatch(/unknown placeholder/);
    expect(p.message).toContain('{yyyy}');
  });

  it('reports duplicate folder and destination ids and duplicate rule names', () => {
    const err = refuse(
      [
        'folders:',
        '  - { id: a, path: /a }',
        '  - { id: a, path: /b }',
        'destinations:',
        '  - { id: d, type: local, path: /d }',
        '  - { id: d, type: local, path: /e }',
        'rules:',
        '  - { name: r, from: [a], to: [d] }',
        '  - { name: r, from: [a], to: [d] }',
        '',
      ].join('\n'),
    );
    expect(err.problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['folders[1].id', 3, 'duplicate id "a"'],
      ['destinations[1].id', 6, 'duplicate id "d"'],
      ['rules[1].name', 9, 'duplicate rule name "r"'],
    ]);
    expect(err.message.split('\n')).toHaveLength(3);
  });

  it('refuses a two-way rule that is not one folder to one destination path, as it is', () => {
    const p = only(
      refuse(
        [
          'folders: [{ id: a, path: /a }]',
          'destinations: [{ id: d, type: local, path: /d }, { id: e, type: local, path: /e }]',
          'rules:',
          '  - { name: r, from: [a], to: [d, e], mode: two-way }',
          '',
        ].join('\n'),
      ),
    );
    expect(p.path).toBe('rules[0].to');
    expect(p.line).toBe(4);
    expect(p.message).toMatch(/two-way rule keeps one folder and one destination equal: name one destination/);
    const template = only(
      refuse(
        [
          'folders: [{ id: a, path: /a }]',
          'destinations: [{ id: d, type: local, path: /d }]',
          'rules:',
          "  - { name: r, from: [a], to: [d], mode: two-way, path: '{yyyy}/{name}' }",
          '',
        ].join('\n'),
      ),
    );
    expect(template.path).toBe('rules[0].path');
  });

  it('accepts a two-way rule, with selective sync, and refuses selective sync elsewhere', () => {
    const cfg = configFromObject(
      {
        folders: [{ id: 'a', path: '/a' }],
        destinations: [{ id: 'd', type: 'local', path: '/d' }],
        rules: [{ name: 'r', from: ['a'], to: ['d'], mode: 'two-way', remote_exclude: ['Archive/**'] }],
      },
      'x.yml',
      '/',
    );
    expect(cfg.rules[0]?.remote_exclude).toEqual(['Archive/**']);
    const p = only(
      refuse(
        [
          'folders: [{ id: a, path: /a }]',
          'destinations: [{ id: d, type: local, path: /d }]',
          'rules:',
          "  - { name: r, from: [a], to: [d], remote_exclude: ['x/**'] }",
          '',
        ].join('\n'),
      ),
    );
    expect(p.path).toBe('rules[0].remote_exclude');
  });

  it('reports a YAML syntax error with its position and no field path', () => {
    const err = refuse('folders:\n  - id: a\n    path: [unclosed\n');
    expect(err.problems.length).toBeGreaterThan(0);
    const p = err.problems[0] as ConfigProblem;
    expect(p.file).toBe(FILE);
    expect(p.path).toBe('');
    expect(p.message).toMatch(/^YAML syntax: /);
    expect(p.line).toBeGreaterThanOrEqual(3);
    expect(err.message.startsWith(`${FILE}:${p.line}:${p.column}: YAML syntax: `)).toBe(true);
  });

  it('reports a duplicate YAML key as a syntax error', () => {
    const err = refuse('settings:\n  transfers: 2\n  transfers: 3\n');
    const p = err.problems[0] as ConfigProblem;
    expect(p.message).toMatch(/^YAML syntax: /);
    expect(p.line).toBe(3);
  });

  it('reports a value out of range at its line', () => {
    const p = only(refuse('settings:\n  transfers: 0\n'));
    expect(p).toMatchObject({ path: 'settings.transfers', line: 2, column: 14 });
  });
});

describe('formatProblem', () => {
  it('omits the position when there is no line and the path when it is empty', () => {
    expect(formatProblem({ file: 'c.yml', path: '', message: 'gone' })).toBe('c.yml: gone');
    expect(formatProblem({ file: 'c.yml', line: 3, path: 'a.b', message: 'bad' })).toBe('c.yml:3:1: a.b: bad');
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the file and resolves relative paths against its directory', () => {
    const sub = join(dir, 'conf');
    mkdirSync(sub);
    const file = join(sub, 'config.yml');
    writeFileSync(
      file,
      'folders:\n  - { id: a, path: data }\ndestinations:\n  - { id: d, type: local, path: ../out }\n',
    );
    const cfg = loadConfig(file);
    expect(cfg.folders[0]?.path).toBe(join(sub, 'data'));
    const d = cfg.destinations[0];
    expect(d?.type === 'local' && d.path).toBe(join(dir, 'out'));
  });

  it('names the absolute file in problems', () => {
    const file = join(dir, 'config.yml');
    writeFileSync(file, 'bogus: 1\n');
    try {
      loadConfig(file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const p = (err as ConfigError).problems[0];
      expect(p).toMatchObject({ file, line: 1, path: '', message: 'unknown field "bogus"' });
    }
  });

  it('reports a missing file as a ConfigError that says it does not exist', () => {
    const file = join(dir, 'nope.yml');
    try {
      loadConfig(file);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.problems).toEqual([{ file, path: '', message: 'cannot read the config file: it does not exist' }]);
      expect(e.message).toBe(`${file}: cannot read the config file: it does not exist`);
    }
  });
});
