import type { EventBus } from '../engine/events';
import { bytes, count, duration } from './format';

type Out = { write(s: string): unknown; isTTY?: boolean; columns?: number };

/**
 * Live progress: on a terminal one line redrawn in place (files, bytes, rate, ETA); otherwise a plain
 * line every few seconds, so logs stay readable. Failures and scan issues are printed as they happen.
 */
export function attachProgress(events: EventBus, out: Out, opts: { verbose?: boolean } = {}): () => void {
  const tty = out.isTTY === true;
  // The rate counts from the first transfer, not from start-up: scanning is shown on its own line.
  let started = 0;
  let filesDone = 0;
  let filesTotal = 0;
  let bytesDone = 0;
  let bytesTotal = 0;
  let scanning = '';
  const inFlight = new Map<number, number>();
  // Sizes of the running files: a floor for the total before the queue is first counted.
  const running = new Map<number, number>();
  const runningBytes = () => [...running.values()].reduce((a, b) => a + b, 0);
  let lastLine = 0;
  let drawn = false;

  const line = (): string => {
    if (scanning) return scanning;
    const moving = [...inFlight.values()].reduce((a, b) => a + b, 0);
    const sent = bytesDone + moving;
    const total = Math.max(bytesTotal, bytesDone + runningBytes(), sent);
    const secs = started === 0 ? 0 : (Date.now() - started) / 1000;
    const rate = secs > 0 ? sent / secs : 0;
    const eta = rate > 0 ? ((total - sent) / rate) * 1000 : Infinity;
    return `↑ ${count(filesDone)}/${count(filesTotal)} files · ${bytes(sent)}/${bytes(total)} · ${bytes(rate)}/s · ETA ${duration(eta)}`;
  };
  const clear = () => {
    if (tty && drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastLine < (tty ? 100 : 5000)) return;
    lastLine = now;
    const text = line();
    if (tty) {
      const width = (out.columns ?? 100) - 1;
      out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      drawn = true;
    } else out.write(`${text}\n`);
  };
  const say = (text: string) => {
    clear();
    out.write(`${text}\n`);
    draw(true);
  };

  const offs = [
    events.on('scan:progress', (p) => {
      scanning = `scanning ${p.folder}: ${count(p.seen)} files, hashed ${count(p.hashed)}/${count(p.toHash)} (${bytes(p.hashedBytes)})`;
      draw();
    }),
    events.on('scan:done', (p) => {
      scanning = '';
      if (!tty || opts.verbose)
        say(`scanned ${p.folder}: ${count(p.files)} files, ${count(p.hashed)} hashed, ${duration(p.durationMs)}`);
    }),
    events.on('scan:issue', (i) => say(`${i.blocking ? 'error' : 'note'}: ${i.folder}/${i.path}: ${i.message}`)),
    events.on('destination:error', (d) =>
      say(`error: destination ${d.destination}: ${d.error.message}${d.error.hint ? ` — ${d.error.hint}` : ''}`),
    ),
    events.on('queue:changed', (q) => {
      filesTotal = Math.max(filesTotal, filesDone + q.pending + q.active);
      // The queue's pending bytes include the running transfers' (their rows stay until they end).
      bytesTotal = Math.max(bytesTotal, bytesDone + q.bytesPending);
      draw();
    }),
    events.on('transfer:started', (t) => {
      if (started === 0) started = Date.now();
      running.set(t.jobId, t.size);
    }),
    events.on('transfer:progress', (p) => {
      inFlight.set(p.jobId, p.bytes);
      draw();
    }),
    events.on('transfer:done', (d) => {
      inFlight.delete(d.jobId);
      running.delete(d.jobId);
      filesDone++;
      bytesDone += d.bytes;
      if (opts.verbose) say(`${d.kind} ${d.folder}/${d.path} → ${d.destination ?? 'local'}`);
      draw();
    }),
    events.on('transfer:retry', (r) => {
      inFlight.delete(r.jobId);
      running.delete(r.jobId);
      if (opts.verbose) say(`retry ${r.attempt} in ${duration(r.delayMs)}: ${r.path}: ${r.error.message}`);
    }),
    events.on('transfer:failed', (f) => {
      inFlight.delete(f.jobId);
      running.delete(f.jobId);
      filesDone++;
      say(`failed: ${f.kind} ${f.folder}/${f.path}${f.destination ? ` → ${f.destination}` : ''}: ${f.error.message}`);
    }),
  ];
  return () => {
    for (const off of offs) off();
    if (drawn) {
      draw(true);
      out.write('\n');
    } else if (!tty && filesTotal > 0) draw(true);
  };
}
