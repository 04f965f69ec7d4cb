import { describe, expect, it } from 'vitest';
import { readMetered, watchMetered, type Exec } from '../../src/main/desktop/meteredNetwork';
import { holdReason, PowerPolicy } from '../../src/main/desktop/powerPolicy';

const both = { pause_on_battery: true, pause_on_metered: true };

describe('the desktop power policy: hold on battery and on metered networks', () => {
  it('names the reason, battery first, each as its setting allows', () => {
    expect(holdReason({ onBattery: true, metered: true }, both)).toBe('on battery power');
    expect(holdReason({ onBattery: false, metered: true }, both)).toBe('on a metered network');
    expect(holdReason({ onBattery: false, metered: undefined }, both)).toBeUndefined();
    expect(holdReason({ onBattery: true, metered: true }, { ...both, pause_on_battery: false })).toBe(
      'on a metered network',
    );
    expect(holdReason({ onBattery: true, metered: false }, { ...both, pause_on_battery: false })).toBeUndefined();
  });

  it('tells the engine only when the reason changes, and again when the settings change', () => {
    const told: (string | undefined)[] = [];
    let settings = both;
    const policy = new PowerPolicy(
      (r) => told.push(r),
      () => settings,
    );
    policy.battery(false); // nothing to hold, nothing held before: nothing said
    policy.battery(true);
    policy.battery(true);
    policy.metered(true); // still on battery: same reason
    policy.battery(false); // on AC, still metered
    settings = { ...both, pause_on_metered: false };
    policy.update();
    expect(told).toEqual(['on battery power', 'on a metered network', undefined]);
  });
});

describe("NetworkManager's metered flag", () => {
  const answers =
    (table: Record<string, string | Error>): Exec =>
    async (file) => {
      const a = table[file] ?? new Error(`spawn ${file} ENOENT`);
      if (a instanceof Error) throw a;
      return a;
    };

  it('over D-Bus (busctl, else gdbus): yes and guess-yes are metered, no and guess-no are not, unknown says nothing', async () => {
    expect(await readMetered(answers({ busctl: 'u 1\n' }), 'linux')).toBe(true);
    expect(await readMetered(answers({ busctl: 'u 3\n' }), 'linux')).toBe(true);
    expect(await readMetered(answers({ busctl: 'u 4\n' }), 'linux')).toBe(false);
    expect(await readMetered(answers({ busctl: 'u 0\n' }), 'linux')).toBeUndefined();
    expect(await readMetered(answers({ gdbus: '(<uint32 1>,)\n' }), 'linux')).toBe(true);
    expect(await readMetered(answers({ gdbus: '(<uint32 2>,)\n' }), 'linux')).toBe(false);
  });

  it("else nmcli's devices: metered when one says yes", async () => {
    const nm = (out: string) => answers({ busctl: new Error('no bus'), nmcli: out });
    expect(await readMetered(nm('GENERAL.METERED:no (guessed)\nGENERAL.METERED:yes\n'), 'linux')).toBe(true);
    expect(await readMetered(nm('GENERAL.METERED:no (guessed)\nGENERAL.METERED:unknown\n'), 'linux')).toBe(false);
    expect(await readMetered(nm('GENERAL.METERED:unknown\n'), 'linux')).toBeUndefined();
  });

  it('without NetworkManager, or off Linux, it says nothing and throws nothing', async () => {
    expect(await readMetered(answers({}), 'linux')).toBeUndefined();
    expect(await readMetered(answers({ busctl: 'u 1' }), 'darwin')).toBeUndefined();
    // This machine: busctl is there, NetworkManager and a system bus are not.
    expect(await readMetered()).toBeUndefined();
  });

  it('reports a change once', async () => {
    const seen: (boolean | undefined)[] = [];
    let value: boolean | undefined = undefined;
    const w = watchMetered((m) => seen.push(m), { read: async () => value, intervalMs: 3_600_000 });
    await new Promise((r) => setImmediate(r));
    w.poke();
    await new Promise((r) => setImmediate(r));
    value = true;
    w.poke();
    await new Promise((r) => setImmediate(r));
    w.poke();
    await new Promise((r) => setImmediate(r));
    w.stop();
    expect(seen).toEqual([undefined, true]);
  });
});
