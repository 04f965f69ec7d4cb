import { execFile } from 'node:child_process';

/** Runs a command and resolves to its standard output; rejects when it is missing or fails. */
export type Exec = (file: string, args: string[]) => Promise<string>;

const execOut: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 5000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

const NM = ['org.freedesktop.NetworkManager', '/org/freedesktop/NetworkManager', 'org.freedesktop.NetworkManager'];

/**
 * NetworkManager's `Metered` property (NMMetered: 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no), read
 * over D-Bus with `busctl` (systemd) or `gdbus` (GLib), else `nmcli`'s per-device GENERAL.METERED. undefined
 * when none of them answers (no NetworkManager, no system bus, another OS): nothing is held for it.
 */
export async function readMetered(
  exec: Exec = execOut,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean | undefined> {
  if (platform !== 'linux') return undefined;
  const fromEnum = (n: number) => (n === 1 || n === 3 ? true : n === 2 || n === 4 ? false : undefined);
  try {
    const out = await exec('busctl', ['get-property', ...NM, 'Metered']);
    const m = /^u\s+(\d+)/.exec(out.trim());
    if (m) return fromEnum(Number(m[1]));
  } catch {
    // no busctl, or no system bus / NetworkManager on it
  }
  try {
    const out = await exec('gdbus', [
      'call',
      '--system',
      '--dest',
      NM[0] as string,
      '--object-path',
      NM[1] as string,
      '--method',
      'org.freedesktop.DBus.Properties.Get',
      NM[2] as string,
      'Metered',
    ]);
    const m = /uint32\s+(\d+)/.exec(out);
    if (m) return fromEnum(Number(m[1]));
  } catch {
    // no gdbus, or nobody answers
  }
  try {
    const out = await exec('nmcli', ['-t', '-f', 'GENERAL.METERED', 'device', 'show']);
    const values = out
      .split('\n')
      .map((l) => /^GENERAL\.METERED:(.*)$/.exec(l.trim())?.[1]?.trim().toLowerCase())
      .filter((v): v is string => v !== undefined && v !== '' && v !== 'unknown');
    if (values.length === 0) return undefined;
    return values.some((v) => v.startsWith('yes'));
  } catch {
    return undefined;
  }
}

/** Reads the metered flag now and every `intervalMs` (and when `poke` is called), reporting changes. */
export function watchMetered(
  onChange: (metered: boolean | undefined) => void,
  opts: { intervalMs?: number; read?: () => Promise<boolean | undefined> } = {},
): { poke: () => void; stop: () => void } {
  const read = opts.read ?? (() => readMetered());
  let last: boolean | undefined | null = null;
  let stopped = false;
  const look = () =>
    void read().then((m) => {
      if (stopped || m === last) return;
      last = m;
      onChange(m);
    });
  look();
  const timer = setInterval(look, opts.intervalMs ?? 60_000);
  timer.unref();
  return {
    poke: look,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
