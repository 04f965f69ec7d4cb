import type { NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { networkSignature, watchNetwork } from '../../src/main/desktop/networkChange';

const iface = (address: string, internal = false): NetworkInterfaceInfo =>
  ({
    address,
    family: address.includes(':') ? 'IPv6' : 'IPv4',
    internal,
    netmask: '',
    mac: '',
    cidr: null,
  }) as NetworkInterfaceInfo;

afterEach(() => vi.useRealTimers());

describe('network change detection', () => {
  it('ignores loopback and the order interfaces are listed in', () => {
    const a = () => ({ lo: [iface('127.0.0.1', true)], eth0: [iface('10.0.0.5')], wlan0: [iface('192.168.1.9')] });
    const b = () => ({ wlan0: [iface('192.168.1.9')], eth0: [iface('10.0.0.5')] });
    expect(networkSignature(a)).toBe(networkSignature(b));
    expect(networkSignature(() => ({ lo: [iface('127.0.0.1', true)] }))).toBe('');
  });

  it('reports a new address, and going offline, once each', () => {
    vi.useFakeTimers();
    let current: NodeJS.Dict<NetworkInterfaceInfo[]> = { eth0: [iface('10.0.0.5')] };
    const seen: boolean[] = [];
    const stop = watchNetwork((online) => seen.push(online), { intervalMs: 1000, interfaces: () => current });
    vi.advanceTimersByTime(3000);
    expect(seen).toEqual([]);
    current = { eth0: [iface('10.0.0.5')], tun0: [iface('fd00::2')] };
    vi.advanceTimersByTime(1000);
    current = {};
    vi.advanceTimersByTime(5000);
    expect(seen).toEqual([true, false]);
    stop();
    current = { eth0: [iface('10.0.0.7')] };
    vi.advanceTimersByTime(5000);
    expect(seen).toEqual([true, false]);
  });
});
