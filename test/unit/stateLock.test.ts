import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/shared/errors';
import { lockStateDir } from '../../src/main/engine/store/stateLock';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const lockFile = () => join(dir, 'ferry.lock');

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  expect(child.status).toBe(0);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid as number;
}

describe('lockStateDir', () => {
  it('creates the directory and writes our pid into ferry.lock', () => {
    const stateDir = join(dir, 'a', 'b');
    const release = lockStateDir(stateDir);
    expect(readFileSync(join(stateDir, 'ferry.lock'), 'utf8')).toBe(String(process.pid));
    release();
  });

  it('refuses a lock held by a live process with state-locked, naming its pid', () => {
    writeFileSync(lockFile(), String(process.ppid));
    let caught: unknown;
    try {
      lockStateDir(dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FerryError);
    expect((caught as FerryError).code).toBe('state-locked');
    expect((caught as FerryError).message).toContain(`pid ${process.ppid}`);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('takes over a lock left by a process that has exited', () => {
    const pid = deadPid();
    writeFileSync(lockFile(), String(pid));
    const release = lockStateDir(dir);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    release();
  });

  it('takes over a lock file that holds no pid', () => {
    writeFileSync(lockFile(), 'garbage');
    const release = lockStateDir(dir);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    release();
  });

  it('removes the lock file on release', () => {
    const release = lockStateDir(dir);
    expect(existsSync(lockFile())).toBe(true);
    release();
    expect(existsSync(lockFile())).toBe(false);
    release();
    expect(existsSync(lockFile())).toBe(false);
  });

  it('does not remove a lock another process has taken since', () => {
    const release = lockStateDir(dir);
    writeFileSync(lockFile(), String(process.ppid));
    release();
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.ppid));
  });

  it('can be locked again after release', () => {
    lockStateDir(dir)();
    const release = lockStateDir(dir);
    expect(existsSync(lockFile())).toBe(true);
    release();
  });
});
