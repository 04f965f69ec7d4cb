import type { DestinationConfig, FerryConfig } from '../../../../shared/config';

/** Where a destination points, in one line a person recognises (a URL-like address or a path). */
export function whereItPoints(d: DestinationConfig): string {
  const under = (base: string, sub: string | undefined) =>
    sub ? `${base.replace(/\/+$/, '')}/${sub.replace(/^\/+/, '')}` : base;
  switch (d.type) {
    case 'local':
      return under(d.path, d.prefix);
    case 's3': {
      const host = d.endpoint ? ` at ${hostOf(d.endpoint)}` : '';
      return `${under(`s3://${d.bucket}`, d.prefix)}${host}`;
    }
    case 'gcs':
      return under(`gs://${d.bucket}`, d.prefix);
    case 'dropbox':
      return `Dropbox ${under(d.root, d.prefix)}`;
    case 'sftp':
      return under(`sftp://${d.user}@${d.host}${d.port === 22 ? '' : `:${d.port}`}${serverPath(d.path)}`, d.prefix);
    case 'ftp': {
      const scheme = d.tls === 'none' ? 'ftp' : 'ftps';
      return under(
        `${scheme}://${d.user}@${d.host}${d.port === 21 ? '' : `:${d.port}`}${serverPath(d.path)}`,
        d.prefix,
      );
    }
    case 'webdav':
      return under(under(d.url, d.path === '/' ? undefined : d.path), d.prefix);
    case 'http':
      return `${d.method} ${d.url}`;
  }
}

/** A server path after host[:port]: absolute as is, relative ones under the login folder (`/~/…`). */
function serverPath(path: string): string {
  if (path.startsWith('/')) return path;
  const rel = path.replace(/^\.(\/|$)/, '');
  return rel === '' ? '/~' : `/~/${rel}`;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Names of the rules that send files to a destination. */
export function rulesUsing(cfg: Pick<FerryConfig, 'rules'>, id: string): string[] {
  return cfg.rules.filter((r) => r.to.includes(id)).map((r) => r.name);
}

// Said with the names a person knows; kept here for the destination pages' imports.
export { describeProblem } from '../../lib/config';
