import { describe, expect, it } from 'vitest';
import { destinationSchema } from '../../../src/shared/config';
import type { DestinationConfig } from '../../../src/shared/config';
import {
  DESTINATION_TYPES,
  changeType,
  destinationFromValues,
  fieldOfPath,
  fieldsFor,
  initialValues,
  labelFor,
  offeredHostKey,
  validateValues,
  valuesFromDestination,
} from '../../../src/renderer/src/pages/destinations/schemaForm';
import type { FormField } from '../../../src/renderer/src/pages/destinations/schemaForm';

const field = (type: Parameters<typeof fieldsFor>[0], name: string): FormField => {
  const f = fieldsFor(type).find((x) => x.name === name);
  if (!f) throw new Error(`${type} has no field ${name}`);
  return f;
};

describe('fieldsFor: the form generated from destinationSchema', () => {
  it('knows every type of the union, and each yields fields with id first and no type', () => {
    expect([...DESTINATION_TYPES].sort()).toEqual(['dropbox', 'ftp', 'gcs', 'http', 'local', 's3', 'sftp', 'webdav']);
    expect(DESTINATION_TYPES).toHaveLength(destinationSchema.options.length);
    for (const type of DESTINATION_TYPES) {
      const fields = fieldsFor(type);
      expect(fields.length).toBeGreaterThan(1);
      expect(fields[0]).toMatchObject({ name: 'id', label: 'ID', kind: 'text', required: true });
      expect(fields.map((f) => f.name)).not.toContain('type');
      expect(fields.at(-1)?.name).toBe('prefix');
      // One field per property of the union member, nothing invented.
      const option = destinationSchema.options.find((o) => o.shape.type.value === type);
      expect(new Set(fields.map((f) => f.name))).toEqual(
        new Set(Object.keys(option?.shape ?? {}).filter((k) => k !== 'type')),
      );
    }
  });

  it('says which fields are required, optional or defaulted', () => {
    expect(field('local', 'path')).toMatchObject({ label: 'Path', kind: 'text', required: true });
    expect(field('s3', 'bucket').required).toBe(true);
    expect(field('s3', 'region').required).toBe(false);
    expect(field('sftp', 'user').required).toBe(true);
    // A default makes a field optional in the input, and is shown to the person.
    expect(field('ftp', 'user')).toMatchObject({ required: false, default: 'anonymous' });
    expect(field('sftp', 'path')).toMatchObject({ required: false, default: '.', placeholder: '. (default)' });
    expect(field('dropbox', 'root')).toMatchObject({ required: false, default: '/' });
    expect(field('http', 'headers')).toMatchObject({ kind: 'record', required: false, default: {} });
  });

  it('reads numbers with their bounds, enums with their options, URLs and booleans', () => {
    expect(field('sftp', 'port')).toMatchObject({ kind: 'number', integer: true, min: 1, max: 65535, default: 22 });
    expect(field('ftp', 'port').default).toBe(21);
    expect(field('sftp', 'connections')).toMatchObject({ kind: 'number', min: 1, max: 16, advanced: true });
    expect(field('ftp', 'tls')).toMatchObject({ kind: 'enum', options: ['explicit', 'implicit', 'none'] });
    expect(field('ftp', 'tls').default).toBe('explicit');
    expect(field('webdav', 'auth')).toMatchObject({ kind: 'enum', options: ['auto', 'basic', 'digest'] });
    expect(field('webdav', 'auth').default).toBeUndefined();
    expect(field('http', 'method')).toMatchObject({ kind: 'enum', options: ['POST', 'PUT'], default: 'POST' });
    expect(field('webdav', 'url')).toMatchObject({ kind: 'url', required: true });
    expect(field('s3', 'endpoint')).toMatchObject({ kind: 'url', required: false });
    expect(field('s3', 'force_path_style')).toMatchObject({ kind: 'boolean', required: false });
  });

  it('finds the secret references, and only those', () => {
    const secrets = Object.fromEntries(
      DESTINATION_TYPES.map((t) => [
        t,
        fieldsFor(t)
          .filter((f) => f.kind === 'secret')
          .map((f) => f.name),
      ]),
    );
    expect(secrets).toEqual({
      local: [],
      s3: ['access_key_id', 'secret_access_key'],
      gcs: ['key_file'],
      dropbox: ['refresh_token'],
      sftp: ['password', 'private_key'],
      ftp: ['password'],
      webdav: ['password'],
      http: ['token'],
    });
    expect(field('dropbox', 'refresh_token').required).toBe(true);
    expect(field('sftp', 'private_key').multiline).toBe(true);
    expect(field('sftp', 'password').multiline).toBe(false);
    // Plain strings that merely look sensitive are not secrets in the schema.
    expect(field('dropbox', 'app_key').kind).toBe('text');
    expect(field('sftp', 'host_key').kind).toBe('text');
  });

  it('labels fields from their names and explains the common ones', () => {
    expect(labelFor('access_key_id')).toBe('Access key ID');
    expect(labelFor('secret_access_key')).toBe('Secret access key');
    expect(labelFor('force_path_style')).toBe('Force path style');
    expect(labelFor('ca_file')).toBe('CA file');
    expect(labelFor('tls')).toBe('TLS');
    expect(labelFor('url')).toBe('URL');
    expect(labelFor('project_id')).toBe('Project ID');
    expect(field('s3', 'endpoint').help).toMatch(/S3-compatible.*MinIO/);
    expect(field('gcs', 'endpoint').help).not.toMatch(/MinIO/);
    expect(field('sftp', 'host_key').help).toMatch(/fingerprint.*leave empty/i);
    expect(field('s3', 'force_path_style').help).toBeTruthy();
    expect(field('local', 'prefix').help).toBeTruthy();
  });
});

describe('form values ⇄ config', () => {
  it('turns a filled form into a config the schema accepts: numbers, booleans, empty optionals left out', () => {
    const sftp = {
      ...initialValues('sftp'),
      id: ' nas ',
      host: 'nas.local',
      port: '2222',
      user: 'me',
      password: 'keychain:nas.password',
      connections: '',
      timeout: '45',
      host_key: '',
    };
    const out = destinationFromValues('sftp', sftp);
    expect(out).toEqual({
      id: 'nas',
      type: 'sftp',
      host: 'nas.local',
      port: 2222,
      user: 'me',
      password: 'keychain:nas.password',
      timeout: 45,
    });
    expect(Object.keys(out).slice(0, 2)).toEqual(['id', 'type']);
    const parsed = destinationSchema.parse(out);
    expect(parsed).toMatchObject({ port: 2222, path: '.', timeout: 45 });

    const s3 = destinationFromValues('s3', {
      ...initialValues('s3'),
      id: 'bucket',
      bucket: 'b',
      endpoint: 'http://127.0.0.1:9000',
      force_path_style: true,
    });
    expect(s3).toEqual({
      id: 'bucket',
      type: 's3',
      bucket: 'b',
      endpoint: 'http://127.0.0.1:9000',
      force_path_style: true,
    });
    expect(destinationSchema.safeParse(s3).success).toBe(true);
    // An unticked optional switch says nothing: the schema's absence is kept.
    expect(destinationFromValues('s3', { ...initialValues('s3'), id: 'x', bucket: 'b' })).not.toHaveProperty(
      'force_path_style',
    );
  });

  it('writes enums with defaults and records as objects', () => {
    const http = destinationFromValues('http', {
      ...initialValues('http'),
      id: 'hook',
      url: 'https://up.example.com/in',
      headers: [
        { key: 'X-Team', value: 'ops' },
        { key: ' ', value: 'ignored' },
      ],
    });
    expect(http).toEqual({
      id: 'hook',
      type: 'http',
      url: 'https://up.example.com/in',
      method: 'POST',
      headers: { 'X-Team': 'ops' },
    });
    expect(destinationSchema.parse(http)).toMatchObject({ field: 'file', headers: { 'X-Team': 'ops' } });
    // An optional enum without a default is left out until chosen.
    const webdav = destinationFromValues('webdav', { ...initialValues('webdav'), id: 'w', url: 'https://dav.x/' });
    expect(webdav).not.toHaveProperty('auth');
    expect(destinationSchema.safeParse(webdav).success).toBe(true);
  });

  it('round-trips every type through the form unchanged', () => {
    const samples: DestinationConfig[] = [
      destinationSchema.parse({ id: 'disk', type: 'local', path: '/mnt/backup', prefix: 'ferry' }),
      destinationSchema.parse({
        id: 's3',
        type: 's3',
        bucket: 'b',
        region: 'eu-west-1',
        force_path_style: false,
        access_key_id: 'env:AWS_KEY',
        secret_access_key: 'keychain:s3.secret_access_key',
      }),
      destinationSchema.parse({ id: 'g', type: 'gcs', bucket: 'b', key_file: 'file:/k.json' }),
      destinationSchema.parse({ id: 'd', type: 'dropbox', app_key: 'k', refresh_token: 'keychain:d.refresh_token' }),
      destinationSchema.parse({ id: 'n', type: 'sftp', host: 'h', user: 'u', connections: 8 }),
      destinationSchema.parse({ id: 'f', type: 'ftp', host: 'h', tls: 'implicit', port: 990 }),
      destinationSchema.parse({ id: 'w', type: 'webdav', url: 'https://dav.example.com/', auth: 'digest' }),
      destinationSchema.parse({ id: 'h', type: 'http', url: 'https://x/', method: 'PUT', headers: { A: 'b' } }),
    ];
    for (const dest of samples) {
      const values = valuesFromDestination(dest);
      const back = destinationSchema.parse(destinationFromValues(dest.type, values));
      // force_path_style: false and absent mean the same; everything else comes back as it was.
      const { force_path_style: _, ...expected } = dest as Record<string, unknown>;
      expect(back).toMatchObject(expected);
    }
    expect(valuesFromDestination(samples[4] as DestinationConfig)).toMatchObject({ port: '22', connections: '8' });
  });

  it('keeps what both types share when the type changes', () => {
    const sftp = { ...initialValues('sftp'), id: 'nas', host: 'nas.local', user: 'me', port: '2222' };
    const ftp = changeType(sftp, 'sftp', 'ftp');
    expect(ftp).toMatchObject({ id: 'nas', host: 'nas.local', user: 'me', port: '2222', tls: 'explicit' });
    expect(changeType(sftp, 'sftp', 'local')).toEqual({ id: 'nas', path: '', prefix: '' });
  });
});

describe('validateValues', () => {
  it('says which required fields are missing, in words', () => {
    const v = validateValues('s3', initialValues('s3'));
    expect(v.config).toBeUndefined();
    expect(v.errors).toMatchObject({ id: 'ID is required', bucket: 'Bucket is required' });
    expect(v.errors).not.toHaveProperty('region');
  });

  it('passes the schema’s own messages through (ids, URLs, ranges, secrets in clear)', () => {
    const v = validateValues('webdav', {
      ...initialValues('webdav'),
      id: 'has space',
      url: 'not a url',
      password: 'hunter2',
      timeout: '99999',
    });
    expect(v.errors.id).toMatch(/letters, digits/);
    expect(v.errors.url).toBeTruthy();
    expect(v.errors.password).toMatch(/never written in clear/);
    expect(v.errors.timeout).toBeTruthy();
    expect(validateValues('sftp', { ...initialValues('sftp'), port: 'twenty' }).errors.port).toBe(
      'Enter a whole number',
    );
  });

  it('counts a typed secret as filled in, and refuses a duplicate id', () => {
    const values = { ...initialValues('dropbox'), id: 'box', app_key: 'abc' };
    expect(validateValues('dropbox', values).errors.refresh_token).toBe('Refresh token is required');
    const ok = validateValues('dropbox', values, { pendingSecrets: ['refresh_token'] });
    expect(ok.errors).toEqual({});
    expect(ok.config).toMatchObject({ id: 'box', refresh_token: 'keychain:box.refresh_token' });
    expect(
      validateValues('dropbox', values, { pendingSecrets: ['refresh_token'], takenIds: ['box'] }).errors.id,
    ).toMatch(/already called "box"/);
  });

  it('gives back the parsed config when everything holds', () => {
    const v = validateValues('local', { ...initialValues('local'), id: 'disk', path: '/mnt/b' });
    expect(v.errors).toEqual({});
    expect(v.config).toEqual({ id: 'disk', type: 'local', path: '/mnt/b' });
  });
});

describe('helpers', () => {
  it('maps an engine problem path to its field', () => {
    expect(fieldOfPath('bucket')).toBe('bucket');
    expect(fieldOfPath('headers.X-Team')).toBe('headers');
    expect(fieldOfPath('')).toBe('');
  });

  it('offers an unknown SFTP host key to pin, never a changed one', () => {
    const unknown =
      'destination "nas": nas.local:22 presented host key SHA256:abc+/def1, which is not recorded in the configuration; Ferry never trusts an unknown host key on its own';
    expect(offeredHostKey(unknown)).toBe('SHA256:abc+/def1');
    const changed =
      'destination "nas": nas.local:22 presented host key SHA256:abc, but the configuration pins SHA256:xyz; someone may be intercepting';
    expect(offeredHostKey(changed)).toBeUndefined();
  });
});
