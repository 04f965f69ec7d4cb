import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

type Interfaces = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

/** The machine's external addresses, in a stable order: changes when Wi-Fi, a VPN or a cable comes or goes. */
export function networkSignature(interfaces: Interfaces = networkInterfaces): string {
  const addresses: string[] = [];
  for (const [name, infos] of Object.entries(interfaces()))
    for (const info of infos ?? []) if (!info.internal) addresses.push(`${name}/${info.family}/${info.address}`);
  return addresses.sort().join(',');
}

/**
 * Calls `onChange` when the machine's network addresses change (Electron has no such event): the
 * engine then reaches its destinations again instead of waiting for the next retry round. Polls
 * cheaply; returns the function that stops watching.
 */
export function watchNetwork(
  onChange: (online: boolean) => void,
  opts: { intervalMs?: number; interfaces?: Interfaces } = {},
): () => void {
  let last = networkSignature(opts.interfaces);
  const timer = setInterval(() => {
    const now = networkSignature(opts.interfaces);
    if (now === last) return;
    last = now;
    onChange(now !== '');
  }, opts.intervalMs ?? 5000);
  timer.unref();
  return () => clearInterval(timer);
}
