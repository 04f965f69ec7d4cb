/**
 * The SFTP scenario (see versusRclone.ts): Ferry vs `rclone copy` to the same `rclone serve sftp`.
 * Both verify what they send with the server's md5sum over exec (rclone serve sftp offers it).
 *
 * Standalone: `npx tsx test/bench/sftpBench.ts` (BENCH_SCALE, BENCH_RUNS, BENCH_DIR); needs out/node
 * (`npm run build:node`).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startRcloneSftp } from '../servers/sshd';
import { benchData, type BenchOptions, type NetworkFigures, versusRclone } from './versusRclone';
import { runStandalone } from './standalone';

export type SftpFigures = NetworkFigures;

const TRANSFERS = 4;

export async function sftpBench(opts: BenchOptions): Promise<SftpFigures> {
  const data = benchData(join(opts.dir, 'sftp-data'), opts.scale, (s) => opts.log(`sftp: ${s}`));
  const server = await startRcloneSftp();
  try {
    const obscured = execFileSync('rclone', ['obscure', server.password as string], { encoding: 'utf8' }).trim();
    return await versusRclone(opts, data, {
      name: 'sftp',
      transfers: TRANSFERS,
      dataDir: server.dataDir,
      settles: true,
      ferryEnv: { BENCH_SFTP_PASSWORD: server.password },
      ferryDestination: (folder) => [
        '  - id: box',
        '    type: sftp',
        `    host: ${server.host}`,
        `    port: ${server.port}`,
        `    user: ${server.user}`,
        '    password: env:BENCH_SFTP_PASSWORD',
        `    host_key: ${server.hostKey}`,
        '    path: /',
        `    prefix: ${folder}`,
        `    connections: ${TRANSFERS}`,
      ],
      rcloneConfig: {
        RCLONE_CONFIG_BENCH_TYPE: 'sftp',
        RCLONE_CONFIG_BENCH_HOST: server.host,
        RCLONE_CONFIG_BENCH_PORT: String(server.port),
        RCLONE_CONFIG_BENCH_USER: server.user,
        RCLONE_CONFIG_BENCH_PASS: obscured,
      },
    });
  } finally {
    await server.stop();
  }
}

runStandalone('sftpBench', sftpBench);
