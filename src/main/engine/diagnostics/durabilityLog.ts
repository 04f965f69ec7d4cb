import { appendFileSync } from 'node:fs';

/** A step that makes a written file durable and visible, in the order it must happen. */
export type DurabilityStep = 'mkdir' | 'fdatasync' | 'rename' | 'fsync-dir' | 'recorded';

const logFile = process.env.FERRY_FS_LOG;

/**
 * The order of durability steps, for the crash-safety tests: with `FERRY_FS_LOG=<file>` in its
 * environment, the process appends one line per step, from whichever thread took it (one append each,
 * so the file keeps their order): a folder made, a temporary's data flushed, a rename onto a final name, a folder
 * flushed, a batch recorded in the state database. A kill point (killPoint.ts) says when a step ran;
 * this log says in which order — which a SIGKILL cannot show (the page cache survives it), and a power
 * cut would. Without the variable this is one comparison.
 */
export function logDurability(step: DurabilityStep, ...fields: string[]): void {
  if (logFile !== undefined) appendFileSync(logFile, `${[step, ...fields].join('\t')}\n`);
}
