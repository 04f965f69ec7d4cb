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

it('the desktop engine holds every transfer for the power policy, says why, and leaves a pause of the person alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-app-'));
  try {
    const engine = await openAppEngine(join(dir, 'Ferry'));
    try {
      const api = engine.host.api;
      engine.host.hold('on battery power');
      let status = await api['status:get']({});
      expect(status).toMatchObject({ state: 'paused', level: 'paused', hold: 'on battery power' });
      expect(status.summary).toBe(
        'Paused on battery power: nothing is being shipped until that changes, or you resume.',
      );
      engine.host.hold(undefined);
      status = await api['status:get']({});
      expect(status).toMatchObject({ hold: null });
      expect(status.state).not.toBe('paused');

      // Paused by the person first: the hold comes and goes, the pause stays theirs.
      await api['sync:pause']({});
      engine.host.hold('on a metered network');
      expect((await api['status:get']({})).hold).toBe('on a metered network');
      engine.host.hold(undefined);
      expect((await api['status:get']({})).state).toBe('paused');
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a hold the person resumed over stays resumed when the config is saved again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-app-'));
  try {
    const engine = await openAppEngine(join(dir, 'Ferry'));
    try {
      const api = engine.host.api;
      engine.host.hold('on battery power');
      await api['sync:resume']({});
      const cfg = await api['config:get']({});
      expect(await api['config:update']({ config: { ...cfg, settings: { ...cfg.settings, retries: 3 } } })).toEqual({
        ok: true,
      });
      const status = await api['status:get']({});
      expect(status.hold).toBeNull();
      expect(status.state).not.toBe('paused');
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
