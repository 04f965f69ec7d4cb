import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../../shared/errors';
import { makeStateDirPrivate } from './stateDir';

/**
 * One Ferry process per state directory (the database has one writer). A lock left by a process that
 * died (SIGKILL, power cut) is taken over; a live holder is named in the error.
 */
export function lockStateDir(stateDir: string): () => void {
  makeStateDirPrivate(stateDir);
  const file = join(stateDir, 'ferry.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new FerryError(
          'permanent',
          'state-unavailable',
          `cannot lock the state directory ${stateDir}: ${(err as Error).message}`,
          {
            hint: 'check that the state directory (--state-dir) is writable',
          },
        );
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder))
        throw new FerryError(
          'conflict',
          'state-locked',
          `another Ferry (pid ${holder}) is using the state directory ${stateDir}`,
          {
            hint: 'wait for it to finish, stop it (ferry stop), or use another --state-dir',
          },
        );
      unlinkSync(file);
    }
  }
  throw new FerryError('conflict', 'state-locked', `cannot take the lock on ${stateDir}`);
}

/** Whether a process with this id exists (EPERM: it does, but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
