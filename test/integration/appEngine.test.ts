import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openAppEngine } from '../../src/main/engine/host/appEngine';

it('the desktop engine starts on first run with an empty config in its data folder and answers the contract', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-app-'));
  try {
    const engine = await openAppEngine(join(dir, 'Ferry'));
    try {
      expect(readFileSync(join(dir, 'Ferry', 'config.yml'), 'utf8')).toContain('folders: []');
      const status = await engine.host.api['status:get']({});
      expect(status.summary).toMatch(/Everything is safe/);
      expect(existsSync(join(dir, 'Ferry', 'state', 'state.db'))).toBe(true);
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
