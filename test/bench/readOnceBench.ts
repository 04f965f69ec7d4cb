/**
 * Read once: how many bytes a cold `ferry sync --once` reads, against the size of the data it ships,
 * to a local folder and to OpenSSH's sshd over SFTP. Measured by the kernel (/proc/<pid>/io of the
 * Ferry process, worker threads included: `rchar` counts every byte read(2) returned, page cache or
 * not; `read_bytes` what came from the disk). The target: rchar ≤ 1.1 × the data (each new file read
 * once, hashed while it is sent). Linux only. Runnable alone: `node --import tsx test/bench/readOnceBench.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRcloneSftp, startSshd, type SftpServer } from '../servers/sshd';
import { ferryWithIo } from '../helpers/procIo';
import { prng } from '../helpers/tree';
import { runStandalone } from './standalone';
import type { BenchOptions } from './versusRclone';

const KiB = 1024;
const MiB = 1024 * KiB;

export type ReadOnceRun = { destination: string; dataBytes: number; rchar: number; readBytes: number; ratio: number };
export type ReadOnceFigures = { files: number; dataBytes: number; runs: ReadOnceRun[] };

/** `small` files of 64 KiB and `big` of 10 MiB, pseudo-random bytes; returns the total size. */
export function writeReadOnceData(src: string, small: number, big: number): number {
  const rnd = prng(18);
  let bytes = 0;
  const put = (rel: string, size: number) => {
    const buf = Buffer.allocUnsafe(size);
    for (let o = 0; o < size; o += 4) buf.writeUInt32LE((rnd() * 0x100000000) >>> 0, o);
    writeFileSync(join(src, rel), buf);
    bytes += size;
  };
  for (let d = 0; d < Math.ceil(small / 100); d++) mkdirSync(join(src, `d${d}`), { recursive: true });
  for (let i = 0; i < small; i++) put(`d${Math.floor(i / 100)}/f${i}.bin`, 64 * KiB);
  for (let i = 0; i < big; i++) put(`big${i}.bin`, 10 * MiB);
  return bytes;
}

export async function readOnceBench(opts: BenchOptions): Promise<ReadOnceFigures> {
  const small = Math.max(100, Math.round(2000 * opts.scale));
  const big = Math.max(2, Math.round(20 * opts.scale));
  const src = join(opts.dir, 'src');
  mkdirSync(src, { recursive: true });
  const dataBytes = writeReadOnceData(src, small, big);
  const servers: Record<'sftp' | 'rclone-sftp', SftpServer> = {
    sftp: await startSshd(),
    'rclone-sftp': await startRcloneSftp(),
  };
  const runs: ReadOnceRun[] = [];
  try {
    for (let r = 0; r < opts.runs; r++)
      for (const destination of ['local', 'sftp', 'rclone-sftp'] as const) {
        const base = join(opts.dir, `${destination}-${r}`);
        const sshd = destination === 'local' ? undefined : servers[destination];
        const dest = sshd ? join(sshd.dataDir, `run-${r}`) : join(base, 'dest');
        mkdirSync(dest, { recursive: true, mode: 0o777 });
        mkdirSync(base, { recursive: true });
        const destYaml = !sshd
          ? `  - { id: box, type: local, path: ${JSON.stringify(dest)} }`
          : [
              `  - id: box`,
              `    type: sftp`,
              `    host: 127.0.0.1`,
              `    port: ${sshd.port}`,
              `    user: ${sshd.user}`,
              `    path: ${JSON.stringify(sshd === servers.sftp ? dest : `run-${r}`)}`,
              `    host_key: ${sshd.hostKey}`,
              sshd.clientKeyFile
                ? `    private_key: file:${sshd.clientKeyFile}`
                : `    password: file:${sshd.passwordFile}`,
            ].join('\n');
        const config = join(base, 'ferry.yml');
        writeFileSync(
          config,
          `folders:\n  - { id: work, path: ${JSON.stringify(src)} }\ndestinations:\n${destYaml}\nrules:\n  - { name: all, from: [work], to: [box] }\n`,
        );
        const res = await ferryWithIo(
          opts.cli,
          ['sync', '--once', '--json', '--config', config, '--state-dir', join(base, 'state')],
          join(base, 'io.txt'),
        );
        if (res.code !== 0)
          throw new Error(`ferry sync to ${destination} exited ${res.code}: ${res.out.slice(0, 2000)}`);
        const run = { destination, dataBytes, ...res.io, ratio: res.io.rchar / dataBytes };
        runs.push(run);
        opts.log(
          `  ${destination}: read ${(run.rchar / MiB).toFixed(1)} MiB (rchar; ${(run.readBytes / MiB).toFixed(1)} MiB from disk) for ${(dataBytes / MiB).toFixed(1)} MiB of data: ${run.ratio.toFixed(3)}×`,
        );
      }
  } finally {
    for (const s of Object.values(servers)) await s.stop();
  }
  return { files: small + big, dataBytes, runs };
}

runStandalone('readOnceBench', readOnceBench);
