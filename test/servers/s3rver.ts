import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const S3RVER_BIN = join(__dirname, '..', '..', 'node_modules', 's3rver', 'bin', 's3rver.js');

/** s3rver's fixed account: any other key is refused with InvalidAccessKeyId. */
export const S3RVER_KEY = 'S3RVER';

export type S3rver = {
  url: string;
  pid: number;
  dataDir: string;
  /** A client for the test's own look at the bucket (listing, reading back, making buckets). */
  client: S3Client;
  createBucket: (name: string) => Promise<void>;
  stop: () => Promise<void>;
};

/**
 * Starts s3rver (see TEST-SERVERS.md) on a free port of 127.0.0.1, in its own process with
 * `--openssl-legacy-provider` (without it, paginated listings answer 500), with a fresh data folder
 * and the given buckets. Stopped by PID.
 */
export async function startS3rver(buckets: string[] = ['test-bucket']): Promise<S3rver> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-s3rver-'));
  const args = ['--openssl-legacy-provider', S3RVER_BIN, '-d', dataDir, '-a', '127.0.0.1', '-p', '0', '--silent'];
  for (const b of buckets) args.push('--configure-bucket', b);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}): ${out}`));
    });
  });
  // Keep draining its output so that it never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  const url = `http://127.0.0.1:${port}`;
  const client = s3Client(url);
  return {
    url,
    pid: child.pid as number,
    dataDir,
    client,
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    stop: async () => {
      client.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid as number, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, 'SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A plain client for s3rver, set up as TEST-SERVERS.md says (path style, checksums only when required). */
export function s3Client(url: string, key = S3RVER_KEY): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
    credentials: { accessKeyId: key, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * A `type: s3` destination for a test config (YAML lines under `destinations:`), its keys given as
 * env: references (FERRY_S3_KEY, FERRY_S3_SECRET) that the test puts in Ferry's environment.
 */
export function s3DestinationYaml(
  id: string,
  fields: { bucket: string; endpoint: string; prefix: string } & Record<string, string>,
): string {
  const all: Record<string, string> = {
    type: 's3',
    access_key_id: 'env:FERRY_S3_KEY',
    secret_access_key: 'env:FERRY_S3_SECRET',
    ...fields,
  };
  return [`  - id: ${id}`, ...Object.entries(all).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)].join('\n');
}

/** Every object under `prefix/` in the bucket, as relative path → SHA-256 of its bytes, read back from the server. */
export async function s3Snapshot(client: S3Client, bucket: string, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `${prefix}/`,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    const keys = (page.Contents ?? []).map((o) => o.Key as string);
    // A few reads at a time: thousands of small objects one by one would be slow for nothing.
    for (let i = 0; i < keys.length; i += 16)
      await Promise.all(
        keys.slice(i, i + 16).map(async (key) => {
          const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const bytes = await (r.Body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray();
          out.set(key.slice(prefix.length + 1), createHash('sha256').update(bytes).digest('hex'));
        }),
      );
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

export type TamperProxy = {
  url: string;
  denied: number;
  corrupted: number;
  held: number;
  close: () => Promise<void>;
};

/**
 * A proxy in front of s3rver for what s3rver cannot play itself:
 * - `denyWrites`: s3rver has no ACLs or policies, so "these credentials may read but not write" is
 *   played by answering every PUT, POST and DELETE with S3's 403 AccessDenied XML;
 * - `corrupt`: flips one byte in the body of the matching requests (s3rver does not check
 *   Content-MD5, so it stores what it gets: Ferry's own verification must notice);
 * - `hold`: takes the whole request, then never answers (a server that stalls after the upload —
 *   the fault proxy's stall needs a response body to hold back, and an S3 PUT answer has none).
 * Everything else is forwarded as is.
 */
export async function startTamperProxy(
  target: string,
  opts: {
    denyWrites?: boolean;
    corrupt?: (method: string, url: string) => boolean;
    hold?: (method: string, url: string) => boolean;
  },
): Promise<TamperProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const state = { denied: 0, corrupted: 0, held: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    if (opts.hold?.(method, req.url ?? '/')) {
      state.held++;
      req.resume();
      setTimeout(() => req.socket.destroy(), 300_000).unref();
      return;
    }
    if (opts.denyWrites && (method === 'PUT' || method === 'POST' || method === 'DELETE')) {
      state.denied++;
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>proxy</RequestId></Error>',
        );
      });
      return;
    }
    const up = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    let flip = opts.corrupt?.(method, req.url ?? '/') ?? false;
    req.on('data', (chunk: Buffer) => {
      if (flip && chunk.length > 0) {
        chunk[0] = (chunk[0] as number) ^ 0xff;
        flip = false;
        state.corrupted++;
      }
      up.write(chunk);
    });
    req.on('end', () => up.end());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get denied() {
      return state.denied;
    },
    get corrupted() {
      return state.corrupted;
    },
    get held() {
      return state.held;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
