/**
 * Deterministic crash points for the crash-safety tests: with `FERRY_KILL_POINT=<point>:<path>` in its
 * environment, the process kills itself (SIGKILL, as a power cut would) when it reaches that point for
 * that path. Without the variable this is one comparison.
 */
export function killPoint(point: string, path: string): void {
  const wanted = process.env.FERRY_KILL_POINT;
  if (wanted !== undefined && wanted === `${point}:${path}`) process.kill(process.pid, 'SIGKILL');
}
