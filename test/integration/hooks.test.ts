import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { syncJson } from '../helpers/cli';
import { workspace, type Workspace } from '../helpers/workspace';

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

it('runs command and URL hooks with the event as JSON; a failing hook does not hold the sync back', async () => {
  const received: { auth: string | undefined; body: { event: string; path: string; bytes?: number } }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, body: JSON.parse(body) as (typeof received)[number]['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const w = (ws = workspace({ rules: [{ mode: 'backup' }] }));
    const out = join(w.root, 'hook-out.jsonl');
    const config = readFileSync(w.config, 'utf8').replace(
      'rules:',
      [
        'rules:',
        '  - name: extra',
        '    from: [work]',
        '    to: [nas]',
        '    match: ["**/*.log"]',
        '    path: "logs/{name}"',
        '    hooks:',
        `      - command: ${JSON.stringify(`cat >> ${out}; echo >> ${out}`)}`,
      ].join('\n'),
    );
    writeFileSync(
      w.config,
      `${config}settings:\n  hooks:\n    - url: http://127.0.0.1:${port}/ferry\n      token: env:HOOK_TOKEN\n      on: [transfer.completed]\n    - command: "exit 3"\n`,
    );
    writeFileSync(join(w.src, 'a.txt'), 'hello');
    writeFileSync(join(w.src, 'b.log'), 'log line');

    const r = await syncJson(w.config, w.state, { env: { HOOK_TOKEN: 's3cret' } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/hook failed: `exit 3` exited with 3/);
    // b.log goes out twice: to logs/ by the extra rule and as-is by the catch-all rule.
    expect(received.map((x) => x.body.path).sort()).toEqual(['a.txt', 'b.log', 'b.log']);
    expect(received.every((x) => x.auth === 'Bearer s3cret' && x.body.event === 'transfer.completed')).toBe(true);
    const lines = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { path: string; remotePath: string; bytes: number });
    expect(lines).toEqual([expect.objectContaining({ path: 'b.log', remotePath: 'logs/b.log', bytes: 8 })]);
  } finally {
    server.close();
  }
});
