import { describe, expect, it, vi } from 'vitest';
import {
  CALL_CHANNEL,
  EVENT_CHANNEL,
  PICK_FOLDER_CHANNEL,
  REVEAL_PATH_CHANNEL,
  type FerryBridge,
} from '../../src/shared/bridge';
import { isTrustedSender } from '../../src/main/shell/senderTrust';

const exposed: Record<string, unknown> = {};
const invoke = vi.fn(async (..._args: unknown[]): Promise<unknown> => ({ ok: true }));
const listeners = new Map<string, (...args: unknown[]) => void>();
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
  ipcRenderer: {
    invoke: (...args: unknown[]) => invoke(...args),
    on: (channel: string, fn: (...args: unknown[]) => void) => listeners.set(channel, fn),
    off: (channel: string) => listeners.delete(channel),
  },
}));

describe('the preload bridge', () => {
  it('exposes the contract (call, subscribe), the folder picker, reveal and nothing of ipcRenderer', async () => {
    (globalThis as { __FERRY_VERSION__?: string }).__FERRY_VERSION__ = '0.0.0-test';
    await import('../../src/preload/index');
    const bridge = exposed['ferry'] as FerryBridge;
    expect(Object.keys(bridge).sort()).toEqual([
      'call',
      'pickFolder',
      'platform',
      'revealPath',
      'subscribe',
      'version',
    ]);
    expect(Object.isFrozen(bridge)).toBe(true);

    await bridge.call('sync:pause', { folder: 'work' });
    expect(invoke).toHaveBeenCalledWith(CALL_CHANNEL, 'sync:pause', { folder: 'work' });
    await expect(bridge.call(42 as unknown as 'status:get', {})).rejects.toThrow(/must be a string/);

    const seen: unknown[] = [];
    const stop = bridge.subscribe((e) => seen.push(e));
    listeners.get(EVENT_CHANNEL)?.({}, { event: 'service:status', payload: { state: 'idle' } });
    expect(seen).toEqual([{ event: 'service:status', payload: { state: 'idle' } }]);
    stop();
    expect(listeners.has(EVENT_CHANNEL)).toBe(false);

    invoke.mockResolvedValueOnce('/home/me/Pictures');
    await expect(bridge.pickFolder?.()).resolves.toBe('/home/me/Pictures');
    expect(invoke).toHaveBeenLastCalledWith(PICK_FOLDER_CHANNEL);
    invoke.mockResolvedValueOnce(undefined);
    await expect(bridge.pickFolder?.()).resolves.toBeUndefined();

    invoke.mockResolvedValueOnce(true);
    await expect(bridge.revealPath?.('/home/me/Work/a.txt')).resolves.toBe(true);
    expect(invoke).toHaveBeenLastCalledWith(REVEAL_PATH_CHANNEL, '/home/me/Work/a.txt');
    invoke.mockResolvedValueOnce('yes');
    await expect(bridge.revealPath?.('/etc/passwd')).resolves.toBe(false);
    const calls = invoke.mock.calls.length;
    await expect(bridge.revealPath?.('')).rejects.toThrow(/non-empty path/);
    await expect(bridge.revealPath?.(7 as unknown as string)).rejects.toThrow(/non-empty path/);
    expect(invoke.mock.calls.length).toBe(calls);
  });
});

describe('IPC sender trust', () => {
  const renderer = { htmlPath: '/opt/Ferry/resources/app/out/renderer/index.html' };
  it("accepts only Ferry's own built window, or the dev server in development", () => {
    expect(isTrustedSender('file:///opt/Ferry/resources/app/out/renderer/index.html', renderer)).toBe(true);
    expect(isTrustedSender('file:///tmp/evil.html', renderer)).toBe(false);
    expect(isTrustedSender('https://example.org/', renderer)).toBe(false);
    expect(isTrustedSender(undefined, renderer)).toBe(false);
    expect(isTrustedSender('not a url', renderer)).toBe(false);
    const dev = { ...renderer, devServerUrl: 'http://localhost:5173' };
    expect(isTrustedSender('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isTrustedSender('http://localhost:5174/', dev)).toBe(false);
  });
});
