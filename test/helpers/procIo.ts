import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How many bytes a process read, by the kernel's count (/proc/<pid>/io), worker threads included. */
const IO_REPORT = join(__dirname, 'ioReport.mjs');

export type ProcIo = { rchar: number; readBytes: number };

export function parseProcIo(text: string): ProcIo {
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rchar: field('rchar'), readBytes: field('read_bytes') };
}

/** Runs the CLI with the I/O report preloaded; resolves with its exit code and its /proc/self/io. */
export function ferryWithIo(
  cli: string,
  args: string[],
  reportFile: string,
): Promise<{ code: number | null; out: string; io: ProcIo }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${IO_REPORT}`,
        FERRY_IO_REPORT: reportFile,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, out, io: parseProcIo(readFileSync(reportFile, 'utf8')) });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
