import { existsSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CALL_CHANNEL,
  EVENT_CHANNEL,
  PICK_FOLDER_CHANNEL,
  REVEAL_PATH_CHANNEL,
  type FerryBridge,
} from '../../src/shared/bridge';
import { requestSchemas, type RequestName } from '../../src/shared/contract';

/**
 * The preload as shipped (out/preload/index.js, what electron-vite bundled), loaded under plain Node
 * with `electron` faked: what it hands the window must be exactly the contract, nothing more.
 */
const BUILT = resolve(__dirname, '../../out/preload/index.js');

/** Every key of FerryBridge; the type check below fails if the bridge gains a key this list lacks. */
const BRIDGE_KEYS = [
  'call',
  'pickFolder',
  'platform',
  'revealPath',
  'subscribe',
  'version',
] as const satisfies readonly (keyof FerryBridge)[];
const everyKeyListed: [Exclude<keyof FerryBridge, (typeof BRIDGE_KEYS)[number]>] extends [never] ? true : false = true;

type Invoke = { channel: string; args: unknown[] };

function loadBuiltPreload(): { exposed: Map<string, unknown>; invokes: Invoke[]; required: string[]; on: string[] } {
  const exposed = new Map<string, unknown>();
  const invokes: Invoke[] = [];
  const required: string[] = [];
  const on: string[] = [];
  const fakeElectron = {
    contextBridge: { exposeInMainWorld: (key: string, value: unknown) => exposed.set(key, value) },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        invokes.push({ channel, args });
        return channel === REVEAL_PATH_CHANNEL ? true : { ok: true };
      },
      on: (channel: string) => on.push(channel),
      off: () => undefined,
    },
  };
  const mod = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = mod._load;
  mod._load = function (request, parent, isMain) {
    if (parent && (parent as { filename?: string }).filename === BUILT) required.push(request);
    if (request === 'electron') return fakeElectron;
    return original.call(this, request, parent, isMain);
  };
  try {
    const req = createRequire(__filename);
    delete req.cache[BUILT];
    req(BUILT);
  } finally {
    mod._load = original;
  }
  return { exposed, invokes, required, on };
}

describe.skipIf(!existsSync(BUILT))('the built preload', () => {
  let loaded: ReturnType<typeof loadBuiltPreload>;
  let ferry: FerryBridge;
  beforeAll(() => {
    loaded = loadBuiltPreload();
    ferry = loaded.exposed.get('ferry') as FerryBridge;
  });

  it('exposes exactly the FerryBridge contract as window.ferry, frozen, and requires nothing but electron', () => {
    expect(everyKeyListed).toBe(true);
    expect([...loaded.exposed.keys()]).toEqual(['ferry']);
    expect(Object.keys(ferry).sort()).toEqual([...BRIDGE_KEYS].sort());
    expect(Object.isFrozen(ferry)).toBe(true);
    const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(ferry.version).toBe(pkg.version);
    expect(ferry.platform).toBe(process.platform);
    // A sandboxed preload can require only electron (and a few shims); anything else fails at run time.
    expect([...new Set(loaded.required)]).toEqual(['electron']);
  });

  it('sends every request of the contract over the call channel, by name', async () => {
    const names = Object.keys(requestSchemas) as RequestName[];
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const input = { probe: name };
      loaded.invokes.length = 0;
      await ferry.call(name, input as never);
      expect(loaded.invokes, name).toEqual([{ channel: CALL_CHANNEL, args: [name, input] }]);
    }
  });

  it('wires the events, the folder picker and reveal to their own channels', async () => {
    const stop = ferry.subscribe(() => undefined);
    expect(loaded.on).toEqual([EVENT_CHANNEL]);
    stop();
    loaded.invokes.length = 0;
    await ferry.pickFolder?.();
    await expect(ferry.revealPath?.('/home/me/a.txt')).resolves.toBe(true);
    expect(loaded.invokes).toEqual([
      { channel: PICK_FOLDER_CHANNEL, args: [] },
      { channel: REVEAL_PATH_CHANNEL, args: ['/home/me/a.txt'] },
    ]);
  });
});

if (!existsSync(BUILT))
  describe('the built preload', () => {
    it.skip(`is not built (${BUILT} is missing): run \`npx electron-vite build\` first (npm test builds it)`, () => {});
  });
