import { createHash, createHmac } from 'node:crypto';

/** How OpenSSH names a host in known_hosts: `host`, or `[host]:port` when the port is not 22. */
function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matches(field: string, name: string): boolean {
  // Hashed names (HashKnownHosts): |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return field.split(',').some((h) => h === name);
}

/**
 * The `SHA256:` fingerprints known_hosts records for a host and port (what Ferry's `host_key` pins).
 * Marker lines (@revoked, @cert-authority) and wildcard patterns are not trusted here.
 */
export function knownHostFingerprints(text: string, host: string, port: number): string[] {
  const name = hostPattern(host, port);
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, , key] = line.split(/\s+/);
    if (!hosts || !key || !matches(hosts, name)) continue;
    const blob = Buffer.from(key, 'base64');
    out.push(`SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`);
  }
  return out;
}
