import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { startS3rver, S3RVER_KEY } from '../servers/s3rver';

/**
 * Ferry's S3 destination against rclone's S3 backend, both uploading to the same s3rver on loopback
 * with the same number of transfers and checksums on, interleaved run by run, a fresh bucket each run.
 * Every object is read back and compared with its source after each timed run (outside the timing).
 *
 * s3rver is a single Node process writing three files per object: on 2 cores it is itself much of the
 * cost, so the ratio ferry/rclone means more than either absolute figure.
 */
export type S3BenchFigures = {
  smallFiles: { ferryFilesPerSec: number; rcloneFilesPerSec: number };
  bigFiles: { ferryMBps: number; rcloneMBps: number };
};

export type S3BenchOptions = {
  dir: string;
  runs: number;
  scale: number;
  /** out/node/cli.js */
  cli: string;
  log: (s: string) => void;
};

const KiB = 1024;
const MB = 1e6;
const TRANSFERS = 4;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Files written once (kept when `dir` is reused); returns relative path → SHA-256. */
function makeData(root: string, count: number, size: number, name: (i: number) => string): Map<string, string> {
  const hashes = new Map<string, string>();
  mkdirSync(root, { recursive: true });
  const existing = new Set(readdirSync(root, { recursive: true }).map(String));
  for (let i = 0; i < count; i++) {
    const rel = name(i);
    const abs = join(root, rel);
    mkdirSync(join(abs, '..'), { recursive: true });
    if (!existing.has(rel)) {
      const fd = openSync(abs, 'w');
      const h = createHash('sha256');
      for (let left = size; left > 0;) {
        const chunk = randomBytes(Math.min(left, 8 * 1024 * KiB));
        writeSync(fd, chunk);
        h.update(chunk);
        left -= chunk.length;
      }
      closeSync(fd);
      hashes.set(rel, h.digest('hex'));
    } else hashes.set(rel, createHash('sha256').update(readFileSync(abs)).digest('hex'));
  }
  return hashes;
}

/** Reads every object of `bucket` back and checks it against the sources; throws on any difference. */
async function verifyBucket(client: S3Client, bucket: string, want: Map<string, string>, what: string): Promise<void> {
  const seen = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }),
    );
    const keys = (page.Contents ?? []).map((o) => o.Key as string);
    for (let i = 0; i < keys.length; i += 8)
      await Promise.all(
        keys.slice(i, i + 8).map(async (key) => {
          const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const h = createHash('sha256');
          for await (const chunk of r.Body as AsyncIterable<Buffer>) h.update(chunk);
          seen.set(key, h.digest('hex'));
        }),
      );
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const bad = [...want].filter(([k, h]) => seen.get(k) !== h).map(([k]) => k);
  if (bad.length > 0 || seen.size !== want.size)
    throw new Error(
      `${what}: ${bad.length} objects missing or different (e.g. ${bad.slice(0, 3).join(', ')}); ${seen.size} objects for ${want.size} files`,
    );
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of page.Contents ?? [])
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key as string }));
}

export async function s3Bench(opts: S3BenchOptions): Promise<S3BenchFigures> {
  const { dir, log } = opts;
  const smallCount = Math.max(10, Math.round(1000 * opts.scale));
  const bigCount = Math.max(1, Math.round(10 * opts.scale));
  const smallSize = 64 * KiB;
  const bigSize = 100 * MB;
  log(
    `\n== s3: ${smallCount} × 64 KiB and ${bigCount} × 100 MB to s3rver, ${TRANSFERS} transfers, ${opts.runs} runs each`,
  );
  const smallDir = join(dir, 'data', 's3-small');
  const bigDir = join(dir, 'data', 's3-big');
  const small = makeData(smallDir, smallCount, smallSize, (i) => `d${i % 20}/f-${i}.bin`);
  const big = makeData(bigDir, bigCount, bigSize, (i) => `big-${i}.bin`);

  const server = await startS3rver([]);
  const env = {
    ...process.env,
    FERRY_S3_KEY: S3RVER_KEY,
    FERRY_S3_SECRET: S3RVER_KEY,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_BENCHS3_TYPE: 's3',
    RCLONE_CONFIG_BENCHS3_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCHS3_ENDPOINT: server.url,
    RCLONE_CONFIG_BENCHS3_REGION: 'us-east-1',
    RCLONE_CONFIG_BENCHS3_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_BENCHS3_ACCESS_KEY_ID: S3RVER_KEY,
    RCLONE_CONFIG_BENCHS3_SECRET_ACCESS_KEY: S3RVER_KEY,
  };
  // Debian's rclone fails on the CA bundle this environment sets (TEST-SERVERS.md).
  delete rcloneEnv.AWS_CA_BUNDLE;

  const times = {
    ferrySmall: [] as number[],
    rcloneSmall: [] as number[],
    ferryBig: [] as number[],
    rcloneBig: [] as number[],
  };
  let n = 0;
  const ferry = async (src: string, label: string): Promise<{ secs: number; bucket: string }> => {
    const bucket = `ferry-${label}-${++n}`;
    await server.createBucket(bucket);
    const work = join(dir, 'runs', bucket);
    mkdirSync(work, { recursive: true });
    const config = join(work, 'ferry.yml');
    writeFileSync(
      config,
      [
        'folders:',
        `  - id: src`,
        `    path: ${JSON.stringify(src)}`,
        'destinations:',
        `  - id: s3`,
        `    type: s3`,
        `    bucket: ${bucket}`,
        `    endpoint: ${JSON.stringify(server.url)}`,
        `    access_key_id: env:FERRY_S3_KEY`,
        `    secret_access_key: env:FERRY_S3_SECRET`,
        'rules:',
        `  - name: all`,
        `    from: [src]`,
        `    to: [s3]`,
        'settings:',
        `  transfers: ${TRANSFERS}`,
        '',
      ].join('\n'),
    );
    const t0 = performance.now();
    const r = await run(
      process.execPath,
      [opts.cli, 'sync', '--once', '--config', config, '--state-dir', join(work, 'state')],
      env,
    );
    const secs = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`ferry ${label} failed (${r.code}): ${r.out.slice(-2000)}`);
    return { secs, bucket };
  };
  const rclone = async (src: string, label: string): Promise<{ secs: number; bucket: string }> => {
    const bucket = `rclone-${label}-${++n}`;
    await server.createBucket(bucket);
    const t0 = performance.now();
    const r = await run(
      'rclone',
      [
        'copy',
        src,
        `benchs3:${bucket}`,
        '--transfers',
        String(TRANSFERS),
        '--s3-no-check-bucket',
        '--config',
        '/dev/null',
      ],
      rcloneEnv,
    );
    const secs = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`rclone ${label} failed (${r.code}): ${r.out.slice(-2000)}`);
    return { secs, bucket };
  };

  try {
    for (let i = 0; i < opts.runs; i++) {
      // Alternate who goes first, so that neither always meets a warmer server or page cache.
      const order = i % 2 === 0 ? (['ferry', 'rclone'] as const) : (['rclone', 'ferry'] as const);
      for (const tool of order) {
        const r = tool === 'ferry' ? await ferry(smallDir, 'small') : await rclone(smallDir, 'small');
        await verifyBucket(server.client, r.bucket, small, `${tool} small run ${i + 1}`);
        (tool === 'ferry' ? times.ferrySmall : times.rcloneSmall).push(r.secs);
        log(
          `  small  ${tool.padEnd(6)} run ${i + 1}: ${r.secs.toFixed(2)} s  ${(smallCount / r.secs).toFixed(0)} files/s (verified)`,
        );
      }
      for (const tool of order) {
        const r = tool === 'ferry' ? await ferry(bigDir, 'big') : await rclone(bigDir, 'big');
        await verifyBucket(server.client, r.bucket, big, `${tool} big run ${i + 1}`);
        await emptyBucket(server.client, r.bucket);
        (tool === 'ferry' ? times.ferryBig : times.rcloneBig).push(r.secs);
        log(
          `  big    ${tool.padEnd(6)} run ${i + 1}: ${r.secs.toFixed(2)} s  ${((bigCount * bigSize) / MB / r.secs).toFixed(1)} MB/s (verified)`,
        );
      }
    }
  } finally {
    await server.stop();
  }
  const figures: S3BenchFigures = {
    smallFiles: {
      ferryFilesPerSec: smallCount / median(times.ferrySmall),
      rcloneFilesPerSec: smallCount / median(times.rcloneSmall),
    },
    bigFiles: {
      ferryMBps: (bigCount * bigSize) / MB / median(times.ferryBig),
      rcloneMBps: (bigCount * bigSize) / MB / median(times.rcloneBig),
    },
  };
  log(
    `  s3 medians: small ferry ${figures.smallFiles.ferryFilesPerSec.toFixed(0)} files/s, rclone ${figures.smallFiles.rcloneFilesPerSec.toFixed(0)} files/s; ` +
      `big ferry ${figures.bigFiles.ferryMBps.toFixed(1)} MB/s, rclone ${figures.bigFiles.rcloneMBps.toFixed(1)} MB/s`,
  );
  return figures;
}
