import type { ResumeStore } from '../../src/main/engine/providers/types';

/** The resume store's contract, in memory: state is handed back only for the same content hash. */
export class MemoryResume implements ResumeStore {
  readonly rows = new Map<string, { sha256: string; state: unknown }>();
  load(d: string, p: string, sha256: string): unknown {
    const r = this.rows.get(`${d}\0${p}`);
    return r && r.sha256 === sha256 ? r.state : undefined;
  }
  save(d: string, p: string, sha256: string, state: unknown): void {
    this.rows.set(`${d}\0${p}`, { sha256, state: JSON.parse(JSON.stringify(state)) as unknown });
  }
  clear(d: string, p: string): void {
    this.rows.delete(`${d}\0${p}`);
  }
  all(d: string): { remotePath: string; sha256: string; state: unknown }[] {
    return [...this.rows]
      .filter(([k]) => k.startsWith(`${d}\0`))
      .map(([k, r]) => ({ remotePath: k.slice(d.length + 1), sha256: r.sha256, state: r.state }));
  }
}
