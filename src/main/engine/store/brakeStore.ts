import { brakeKey, type BrakeBaseline } from '../plan/planner';
import type { Db } from './db';

/**
 * The mirror deletion brake's baselines (see planner.ts, pass 3): how many real files each rule held at
 * each destination at the state the person last confirmed, raised as the rule grows.
 */
export class BrakeStore {
  private readonly selectAll;
  private readonly upsert;
  private readonly selectOne;

  constructor(private readonly db: Db) {
    this.selectAll = db.prepare('SELECT rule, destination, files FROM brake_baselines');
    this.selectOne = db.prepare('SELECT files FROM brake_baselines WHERE rule = ? AND destination = ?');
    this.upsert = db.prepare(
      `INSERT INTO brake_baselines (rule, destination, files, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (rule, destination) DO UPDATE SET files = excluded.files, updated_at = excluded.updated_at`,
    );
  }

  /** Every baseline, by brakeKey(rule, destination). */
  all(): Map<string, number> {
    const rows = this.selectAll.all() as BrakeBaseline[];
    return new Map(rows.map((r) => [brakeKey(r.rule, r.destination), r.files]));
  }

  get(rule: string, destination: string): number | undefined {
    return (this.selectOne.get(rule, destination) as { files: number } | undefined)?.files;
  }

  putMany(baselines: readonly BrakeBaseline[], now = Date.now()): void {
    this.db.transaction(() => {
      for (const b of baselines) this.upsert.run(b.rule, b.destination, b.files, now);
    })();
  }
}
