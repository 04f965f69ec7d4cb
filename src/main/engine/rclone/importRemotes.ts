import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { DestinationConfig } from '../../../shared/config';
import { expandHome } from '../config/loadConfig';
import { knownHostFingerprints } from './knownHosts';
import { revealObscured } from './obscure';
import type { RcloneRemote } from './rcloneConf';

/** A secret an imported destination refers to as `keychain:NAME`, to be kept in Ferry's secret store. */
export type ImportedSecret = { name: string; value: string };

export type ImportResult =
  | {
      remote: string;
      type: string;
      ok: true;
      destination: DestinationConfig;
      secrets: ImportedSecret[];
      /** Options of the remote Ferry does not take, each with why (nothing else is lost). */
      ignored: { option: string; reason: string }[];
    }
  | { remote: string; type: string; ok: false; reason: string; ignored: { option: string; reason: string }[] };

/** rclone's type names of the destinations Ferry has. */
export const IMPORTABLE_TYPES = ['s3', 'google cloud storage', 'dropbox', 'sftp', 'ftp', 'webdav', 'local'] as const;

const WRAPPERS = new Set(['alias', 'crypt', 'union', 'combine', 'chunker', 'compress', 'hasher', 'cache']);

class Unsupported extends Error {}

/** A name Ferry's config accepts (ids and keychain names: letters, digits, `_`, `.`, `-`). */
function safeName(s: string, max: number): string {
  const cleaned = s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'rclone').slice(0, max);
}

const bool = (v: string | undefined) => v !== undefined && /^(true|1|yes)$/i.test(v);

/** rclone accepts an endpoint without a scheme (`s3.wasabisys.com`); Ferry wants a URL. */
function endpointUrl(v: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `https://${v}`;
}

/**
 * Turns one rclone remote (and the path after its colon, `REMOTE:bucket/dir`) into a Ferry destination
 * whose secrets are `keychain:` references; obscured passwords are revealed. What Ferry cannot do is
 * said: the whole remote when Ferry has no such destination or could not log in as rclone does, or an
 * option at a time when the rest still works.
 */
export function importRemote(remote: RcloneRemote, path: string, id = safeName(remote.name, 64)): ImportResult {
  const o = remote.options;
  const type = o.type ?? '';
  const ignored: { option: string; reason: string }[] = [];
  const secrets: ImportedSecret[] = [];
  const used = new Set<string>(['type']);
  const take = (k: string): string | undefined => {
    used.add(k);
    const v = o[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const secret = (field: string, value: string): string => {
    const name = `rclone-${safeName(remote.name, 80)}-${field}`;
    secrets.push({ name, value });
    return `keychain:${name}`;
  };
  const reveal = (k: string): string | undefined => {
    const v = take(k);
    if (v === undefined) return undefined;
    try {
      return revealObscured(v);
    } catch {
      throw new Unsupported(
        `its ${k} is not obscured as rclone writes it (was the file edited by hand?): enter it in Ferry instead`,
      );
    }
  };
  const explain = (k: string, reason: string) => {
    if (o[k] !== undefined && !used.has(k)) ignored.push({ option: k, reason });
    used.add(k);
  };
  const segments = path.split('/').filter((s) => s !== '');
  try {
    const destination = ((): DestinationConfig => {
      switch (type) {
        case 's3': {
          const [bucket, ...rest] = segments;
          if (!bucket)
            throw new Unsupported(
              `an S3 destination needs a bucket: give it as ${remote.name}:BUCKET (or BUCKET/FOLDER)`,
            );
          if (take('session_token'))
            throw new Unsupported('it uses temporary credentials (session_token), which Ferry cannot renew');
          const provider = take('provider') ?? 'AWS';
          const endpoint = take('endpoint');
          const key = take('access_key_id');
          const secretKey = take('secret_access_key');
          take('env_auth');
          const region = take('region');
          const storageClass = take('storage_class');
          const pathStyle = take('force_path_style');
          explain('location_constraint', 'used by rclone only when it creates a bucket; Ferry never creates one');
          explain('acl', "Ferry does not set object ACLs: the bucket's own policy applies");
          explain('bucket_acl', 'Ferry never creates a bucket');
          explain('no_check_bucket', 'Ferry checks the bucket once per connection anyway');
          return {
            id,
            type: 's3',
            bucket,
            ...(rest.length > 0 ? { prefix: rest.join('/') } : {}),
            ...(region ? { region } : {}),
            ...(endpoint ? { endpoint: endpointUrl(endpoint) } : {}),
            // rclone uses path-style requests except for providers that need virtual hosts (AWS and a few).
            ...(provider !== 'AWS' && endpoint && !(pathStyle && !bool(pathStyle)) ? { force_path_style: true } : {}),
            ...(key ? { access_key_id: secret('access_key_id', key) } : {}),
            ...(secretKey ? { secret_access_key: secret('secret_access_key', secretKey) } : {}),
            ...(storageClass ? { storage_class: storageClass } : {}),
          };
        }
        case 'google cloud storage': {
          const [bucket, ...rest] = segments;
          if (!bucket) throw new Unsupported(`a GCS destination needs a bucket: give it as ${remote.name}:BUCKET`);
          const file = take('service_account_file');
          const inline = take('service_account_credentials');
          const envAuth = bool(take('env_auth'));
          if (!file && !inline && !envAuth)
            throw new Unsupported(
              'it signs in as a Google user (OAuth token): Ferry uses a service account, give its key file as key_file',
            );
          const project = take('project_number');
          explain('object_acl', "Ferry does not set object ACLs: the bucket's own policy applies");
          explain('bucket_acl', 'Ferry never creates a bucket');
          explain('location', 'used by rclone only when it creates a bucket');
          explain('bucket_policy_only', 'used by rclone only when it creates a bucket');
          explain('storage_class', "Ferry writes with the bucket's default storage class");
          return {
            id,
            type: 'gcs',
            bucket,
            ...(rest.length > 0 ? { prefix: rest.join('/') } : {}),
            ...(project ? { project_id: project } : {}),
            ...(file
              ? { key_file: `file:${expandHome(file)}` }
              : inline
                ? { key_file: secret('key_file', inline) }
                : {}),
          };
        }
        case 'dropbox': {
          const appKey = take('client_id');
          const token = take('token');
          explain('client_secret', 'Ferry connects with PKCE and needs no app secret');
          if (!appKey)
            throw new Unsupported(
              "it was connected through rclone's own Dropbox app, whose tokens only rclone may use: add the destination in Ferry and connect it (ferry connect, or the window)",
            );
          let refresh: string | undefined;
          try {
            refresh = token ? (JSON.parse(token) as { refresh_token?: string }).refresh_token : undefined;
          } catch {
            refresh = undefined;
          }
          if (!refresh)
            throw new Unsupported('it holds no refresh token: connect it in Ferry (ferry connect, or the window)');
          return {
            id,
            type: 'dropbox',
            app_key: appKey,
            refresh_token: secret('refresh_token', refresh),
            root: `/${segments.join('/')}`,
          };
        }
        case 'sftp': {
          const host = take('host');
          if (!host) throw new Unsupported('it names no host');
          if (take('key_file_pass'))
            throw new Unsupported(
              'its key is protected by a passphrase, which Ferry cannot use: give Ferry a key without one, or a password',
            );
          if (bool(take('key_use_agent')) && !o.key_file && !o.key_pem && !o.pass)
            throw new Unsupported(
              'it logs in through ssh-agent, which Ferry does not use: give a key file or a password',
            );
          used.add('key_use_agent');
          const port = Number(take('port') ?? '22');
          const password = reveal('pass');
          const keyFile = take('key_file');
          const keyPem = take('key_pem');
          const knownHosts = take('known_hosts_file');
          let hostKey: string | undefined;
          if (knownHosts) {
            const fps = knownHostFingerprints(readFileSync(expandHome(knownHosts), 'utf8'), host, port);
            if (fps.length > 0) hostKey = fps.join(',');
            else
              ignored.push({
                option: 'known_hosts_file',
                reason: `it holds no key for ${host}:${port}: \`ferry check\` will show the server's key to pin as host_key`,
              });
          } else
            ignored.push({
              option: '(host key)',
              reason:
                "rclone does not check this server's key unless known_hosts_file is set; Ferry always does: `ferry check` shows the key to pin as host_key",
            });
          for (const k of ['md5sum_command', 'sha1sum_command', 'shell_type'])
            explain(k, "Ferry finds the server's hash commands by itself");
          explain('disable_hashcheck', 'Ferry always verifies what it sends');
          explain('use_insecure_cipher', 'Ferry offers only the ciphers its SSH library deems safe');
          explain('set_modtime', 'Ferry keeps its own record of versions');
          return {
            id,
            type: 'sftp',
            host,
            port,
            user: take('user') ?? userInfo().username,
            ...(password ? { password: secret('password', password) } : {}),
            // rclone writes key_pem on one line with literal "\n"s.
            ...(keyFile
              ? { private_key: `file:${expandHome(keyFile)}` }
              : keyPem
                ? { private_key: secret('private_key', keyPem.replace(/\\n/g, '\n')) }
                : {}),
            // rclone's paths are relative to the login folder unless they start with "/": so are Ferry's.
            path: segments.length === 0 ? '.' : path.startsWith('/') ? `/${segments.join('/')}` : segments.join('/'),
            ...(hostKey ? { host_key: hostKey } : {}),
          };
        }
        case 'ftp': {
          const host = take('host');
          if (!host) throw new Unsupported('it names no host');
          const password = reveal('pass');
          const tls = bool(take('tls')) ? 'implicit' : bool(take('explicit_tls')) ? 'explicit' : 'none';
          const concurrency = Number(take('concurrency') ?? '0');
          explain('no_check_certificate', "Ferry always checks the server's certificate: give a private CA as ca_file");
          explain('disable_epsv', 'Ferry picks the passive mode itself');
          explain('disable_mlsd', 'Ferry picks its listing command itself');
          return {
            id,
            type: 'ftp',
            host,
            port: Number(take('port') ?? (tls === 'implicit' ? '990' : '21')),
            user: take('user') ?? userInfo().username,
            ...(password ? { password: secret('password', password) } : {}),
            path: `/${segments.join('/')}`,
            tls,
            ...(concurrency >= 1 ? { connections: Math.min(16, concurrency) } : {}),
          };
        }
        case 'webdav': {
          const url = take('url');
          if (!url) throw new Unsupported('it names no url');
          if (take('bearer_token') || take('bearer_token_command'))
            throw new Unsupported(
              'it logs in with a bearer token, which Ferry does not send to WebDAV servers: give a user and password',
            );
          if (take('headers')) throw new Unsupported('it sends custom headers, which Ferry does not for WebDAV');
          const password = reveal('pass');
          const user = take('user');
          explain('vendor', 'Ferry learns what the server offers (checksums, locks) by itself');
          return {
            id,
            type: 'webdav',
            url,
            ...(user ? { user } : {}),
            ...(password ? { password: secret('password', password) } : {}),
            path: `/${segments.join('/')}`,
          };
        }
        case 'local': {
          if (segments.length === 0)
            throw new Unsupported(`a local destination needs a folder: give it as ${remote.name}:/PATH`);
          return { id, type: 'local', path: path.startsWith('/') ? path : expandHome(path) };
        }
        default:
          if (WRAPPERS.has(type))
            throw new Unsupported(`a "${type}" remote wraps another remote: import that one (Ferry has no ${type})`);
          throw new Unsupported(
            type === ''
              ? 'it has no type'
              : `Ferry has no "${type}" destination (it has ${IMPORTABLE_TYPES.join(', ')})`,
          );
      }
    })();
    for (const k of Object.keys(o)) if (!used.has(k)) ignored.push({ option: k, reason: 'Ferry has no such setting' });
    return { remote: remote.name, type, ok: true, destination, secrets, ignored };
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    return { remote: remote.name, type, ok: false, reason: err.message, ignored };
  }
}
