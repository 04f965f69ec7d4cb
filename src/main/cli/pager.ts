import { spawn } from 'node:child_process';

/**
 * Writes `text` through the person's pager ($PAGER, else `less` with LESS=FRX: it quits at once when
 * the text fits a screen) when `out` is a terminal; to a pipe, a file or under CI, as it is. A pager
 * that cannot be started (exit 126/127 from the shell) leaves the text written as it is.
 */
export async function page(
  out: NodeJS.WriteStream,
  text: string,
  opts: { enabled?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const env = opts.env ?? process.env;
  const command = env.PAGER?.trim() || 'less';
  if (opts.enabled === false || !out.isTTY || env.CI || command === 'cat') {
    out.write(text);
    return;
  }
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', out, 'inherit'],
      env: { ...env, LESS: env.LESS ?? 'FRX' },
    });
    child.on('error', () => resolve(127));
    child.on('close', (c) => resolve(c));
    // A pager quit before the end (q in less) closes its input: the rest is not wanted.
    child.stdin.on('error', () => undefined);
    child.stdin.end(text);
  });
  if (code === 126 || code === 127) out.write(text);
}
