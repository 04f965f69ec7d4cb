/**
 * The WebDAV scenario (see versusRclone.ts): Ferry vs `rclone copy` to the same `rclone serve webdav`.
 *
 * Standalone: `npx tsx test/bench/webdavBench.ts` (BENCH_SCALE, BENCH_RUNS, BENCH_DIR); needs out/node
 * (`npm run build:node`).
 */
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startRcloneWebdav } from '../servers/rcloneServe';
import { runStandalone } from './standalone';
import { benchData, type BenchOptions, type NetworkFigures, versusRclone } from './versusRclone';

export type WebdavFigures = NetworkFigures;

const TRANSFERS = 8;

function mkcol(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/${path}/`, { method: 'MKCOL', auth: 'u:p' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function webdavBench(opts: BenchOptions): Promise<WebdavFigures> {
  const data = benchData(join(opts.dir, 'webdav-data'), opts.scale, (s) => opts.log(`webdav: ${s}`));
  const serverRoot = join(opts.dir, 'webdav-server');
  mkdirSync(serverRoot, { recursive: true });
  const server = await startRcloneWebdav(serverRoot);
  try {
    const obscured = execFileSync('rclone', ['obscure', 'p'], { encoding: 'utf8' }).trim();
    return await versusRclone(opts, data, {
      name: 'webdav',
      transfers: TRANSFERS,
      dataDir: serverRoot,
      ferryEnv: { BENCH_DAV_PASSWORD: 'p' },
      // Ferry's destination path must exist, as a person's WebDAV folder would.
      beforeFerry: async (folder) => {
        if ((await mkcol(server.url, folder)) !== 201) throw new Error(`cannot create ${folder}`);
      },
      ferryDestination: (folder) => [
        '  - id: box',
        '    type: webdav',
        `    url: ${JSON.stringify(server.url)}`,
        '    user: u',
        '    password: env:BENCH_DAV_PASSWORD',
        `    path: /${folder}`,
      ],
      rcloneConfig: {
        RCLONE_CONFIG_BENCH_TYPE: 'webdav',
        RCLONE_CONFIG_BENCH_URL: server.url,
        RCLONE_CONFIG_BENCH_VENDOR: 'other',
        RCLONE_CONFIG_BENCH_USER: 'u',
        RCLONE_CONFIG_BENCH_PASS: obscured,
      },
    });
  } finally {
    await server.stop();
  }
}

runStandalone('webdavBench', webdavBench);
