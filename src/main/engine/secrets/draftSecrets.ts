import type { DestinationConfig, FerryConfig } from '../../../shared/config';
import type { DestinationTestResult } from '../../../shared/contract';

const SECRET_REF = /^(env|file|keychain):.+$/;

/** Every secret reference inside a config object, with the field that holds it (`password`, `token`…). */
function secretRefs(v: unknown, at = ''): { field: string; ref: string }[] {
  if (typeof v === 'string') return SECRET_REF.test(v) ? [{ field: at, ref: v }] : [];
  if (Array.isArray(v)) return v.flatMap((x, i) => secretRefs(x, `${at}[${i}]`));
  if (typeof v === 'object' && v !== null)
    return Object.entries(v).flatMap(([k, x]) => secretRefs(x, at ? `${at}.${k}` : k));
  return [];
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/**
 * Where a destination sends its secrets: two configs with the same answer reach the same service (the
 * same host and port, bucket and endpoint, URL origin), so one's secret may serve the other.
 */
export function secretAudience(d: DestinationConfig): string {
  switch (d.type) {
    case 'local':
      return `local:${d.path}`;
    case 's3':
      return `s3:${d.endpoint ?? `aws/${d.region ?? ''}`}|${d.bucket}`;
    case 'gcs':
      return `gcs:${d.endpoint ?? 'google'}|${d.bucket}`;
    case 'dropbox':
      return `dropbox:${d.endpoint ?? 'dropbox'}|${d.app_key}`;
    case 'sftp':
      return `sftp:${d.host.toLowerCase()}:${d.port}`;
    case 'ftp':
      return `ftp:${d.host.toLowerCase()}:${d.port}|${d.tls}`;
    case 'webdav':
    case 'http':
      return `url:${origin(d.url)}`;
  }
}

/** Where the draft would send its secrets, in the person's words. */
function place(d: DestinationConfig): string {
  switch (d.type) {
    case 'local':
      return d.path;
    case 's3':
    case 'gcs':
      return `bucket ${d.bucket}${d.endpoint ? ` at ${d.endpoint}` : ''}`;
    case 'dropbox':
      return d.endpoint ?? 'Dropbox';
    case 'sftp':
    case 'ftp':
      return `${d.host}:${d.port}`;
    case 'webdav':
    case 'http':
      return origin(d.url);
  }
}

/**
 * A draft destination ("Test connection" before saving) may use a stored secret only where the saved
 * destination that owns it sends it: the same host, bucket or endpoint. Otherwise a draft naming
 * another host would carry the saved password or token there. A `keychain:` secret typed in this
 * session (not yet saved into the config) belongs to whoever typed it, and passes.
 * Answers why the draft is refused, or undefined when it may go ahead.
 */
export function draftSecretProblem(
  draft: DestinationConfig,
  saved: FerryConfig,
  typedThisSession: ReadonlySet<string>,
): DestinationTestResult | undefined {
  const owners = new Map<string, string[]>();
  const own = (ref: string, audience: string) => owners.set(ref, [...(owners.get(ref) ?? []), audience]);
  for (const d of saved.destinations) for (const { ref } of secretRefs(d)) own(ref, secretAudience(d));
  for (const rule of saved.rules)
    for (const hook of rule.hooks) if (hook.url && hook.token) own(hook.token, `url:${origin(hook.url)}`);

  const audience = secretAudience(draft);
  for (const { field, ref } of secretRefs(draft)) {
    const allowed = owners.get(ref);
    if (allowed?.includes(audience)) continue;
    if (!allowed && ref.startsWith('keychain:') && typedThisSession.has(ref.slice('keychain:'.length))) continue;
    const whose = saved.destinations.find((d) => secretRefs(d).some((s) => s.ref === ref));
    return {
      ok: false,
      step: 'auth',
      message: whose
        ? `the draft would send the secret of destination "${whose.id}" (${field}: ${ref}) to ${place(draft)}, which is not where "${whose.id}" uses it`
        : `the draft refers to the stored secret ${ref} (${field}), which no saved destination uses for ${place(draft)}`,
      hint: `type the ${field} again for ${place(draft)}: a stored secret is only sent where it is used already`,
      durationMs: 0,
    };
  }
  return undefined;
}
