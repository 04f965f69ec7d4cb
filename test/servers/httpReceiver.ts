import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * An upload receiver for the HTTP destination's tests (node:http only): it takes multipart/form-data
 * POSTs (parsed as a stream, see MultipartParser) and raw PUTs, writes each file to a temporary name
 * under `dir` and renames it into place only when the whole request arrived, and answers
 * `{"ok": true, "path": …, "size": …, "sha256": …}`. It serves under `base` (default "/upload"): any
 * other path is a 404. A test can make it answer what it likes for some requests (`respond`: a 500, a
 * 429, a 422 with a message, a wrong sha256…) and read what each request carried (`received`).
 */
export type ReceivedUpload = {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Text fields of a multipart request, and the field name and filename of the file part. */
  fields: Record<string, string>;
  fileField?: string;
  filename?: string;
  path?: string;
  size?: number;
  sha256?: string;
  status: number;
};

export type ReceiverOptions = {
  dir: string;
  /** The endpoint's path (default "/upload"); PUTs go below it. */
  base?: string;
  /** Name of the form field with the remote path (default "path"); a header can carry it instead. */
  pathField?: string;
  pathHeader?: string;
  /** Requests without `Authorization: Bearer <token>` get 401. */
  token?: string;
  /** Decide an answer for a request (after its body was read), or undefined for the normal one. */
  respond?: (
    u: ReceivedUpload,
    n: number,
  ) => { status: number; body?: unknown; headers?: Record<string, string> } | undefined;
};

export type Receiver = {
  url: string;
  received: ReceivedUpload[];
  options: ReceiverOptions;
  close: () => Promise<void>;
};

type PartHeaders = { name?: string; filename?: string; headers: Record<string, string> };

/**
 * A streaming multipart/form-data parser: feed it chunks as they arrive; it calls back with each
 * part's headers, its data (in pieces) and its end, keeping at most a delimiter's length of bytes
 * back, so a boundary split across chunks is still found and a file is never held in memory.
 */
export class MultipartParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'preamble' | 'headers' | 'body' | 'done' = 'preamble';
  private readonly delimiter: Buffer;

  constructor(
    boundary: string,
    private readonly on: {
      part: (h: PartHeaders) => void;
      data: (b: Buffer) => void;
      end: () => void;
    },
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    // The first boundary has no CRLF before it: pretend it had.
    this.buf = Buffer.from('\r\n');
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  write(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.state === 'done') {
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.state === 'preamble' || this.state === 'body') {
        const at = this.buf.indexOf(this.delimiter);
        if (at < 0) {
          // Keep what could be the start of a delimiter; the rest is data (or preamble).
          const keep = Math.min(this.buf.length, this.delimiter.length - 1);
          const out = this.buf.subarray(0, this.buf.length - keep);
          if (this.state === 'body' && out.length > 0) this.on.data(Buffer.from(out));
          this.buf = this.buf.subarray(this.buf.length - keep);
          return;
        }
        const after = at + this.delimiter.length;
        if (this.buf.length < after + 2) {
          // Not enough to tell "--" (the end) from CRLF (another part): hand out the data, wait.
          if (this.state === 'body' && at > 0) this.on.data(Buffer.from(this.buf.subarray(0, at)));
          this.buf = this.buf.subarray(at);
          return;
        }
        if (this.state === 'body') {
          if (at > 0) this.on.data(Buffer.from(this.buf.subarray(0, at)));
          this.on.end();
        }
        const tail = this.buf.subarray(after, after + 2).toString('latin1');
        if (tail === '--') {
          this.state = 'done';
          continue;
        }
        if (tail !== '\r\n') throw new Error('malformed multipart body: no CRLF after a boundary');
        this.buf = this.buf.subarray(after + 2);
        this.state = 'headers';
        continue;
      }
      // headers
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buf.length > 16 * 1024) throw new Error('multipart part headers too long');
        return;
      }
      const lines = this.buf.subarray(0, end).toString('utf8').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const cd = headers['content-disposition'] ?? '';
      const param = (key: string) => {
        const m = new RegExp(`(?:^|;)\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(cd);
        return m?.[1] === undefined ? undefined : decodeURIComponent(m[1].replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
      };
      this.on.part({ name: param('name'), filename: param('filename'), headers });
      this.buf = this.buf.subarray(end + 4);
      this.state = 'body';
    }
  }
}

function safeTarget(dir: string, rel: string): string | undefined {
  const clean = rel.replace(/^\/+/, '');
  if (clean === '' || clean.split('/').some((s) => s === '..' || s === '.' || s === '')) return undefined;
  const abs = resolve(dir, ...clean.split('/'));
  return abs.startsWith(resolve(dir) + sep) ? abs : undefined;
}

export async function startHttpReceiver(options: ReceiverOptions): Promise<Receiver> {
  const received: ReceivedUpload[] = [];
  const sockets = new Set<Socket>();
  const pathField = () => options.pathField ?? 'path';

  const answer = (
    res: ServerResponse,
    u: ReceivedUpload,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    u.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const u: ReceivedUpload = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      fields: {},
      status: 0,
    };
    received.push(u);
    const n = received.length;
    const base = (options.base ?? '/upload').replace(/\/+$/, '');
    const urlPath = (req.url ?? '').split('?')[0] ?? '';
    if (urlPath !== base && !urlPath.startsWith(`${base}/`)) {
      req.resume();
      return answer(res, u, 404, { ok: false, error: `no upload endpoint at ${urlPath}` });
    }
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      req.resume();
      return answer(res, u, 401, { ok: false, error: 'missing or wrong bearer token' });
    }
    if (req.method === 'OPTIONS' || req.method === 'HEAD') {
      req.resume();
      return answer(res, u, 204, {});
    }
    const hash = createHash('sha256');
    let size = 0;
    let out: WriteStream | undefined;
    let tmp: string | undefined;
    const temps: string[] = [];
    const startFile = () => {
      tmp = join(options.dir, `.incoming-${randomBytes(8).toString('hex')}`);
      temps.push(tmp);
      out = createWriteStream(tmp);
      out.on('error', () => undefined);
    };
    const fileData = (b: Buffer) => {
      hash.update(b);
      size += b.length;
      if (out && !out.destroyed) out.write(b);
    };
    const cleanup = () => {
      out?.destroy();
      out = undefined;
      for (const t of temps) rmSync(t, { force: true });
    };
    req.on('aborted', cleanup);
    req.on('error', cleanup);

    let parser: MultipartParser | undefined;
    let field: string | undefined;
    let text = '';
    const headerPath = options.pathHeader ? req.headers[options.pathHeader.toLowerCase()] : undefined;
    if (typeof headerPath === 'string') u.path = decodeURIComponent(headerPath);
    if (req.method === 'PUT') {
      u.path ??= decodeURIComponent(urlPath.slice(base.length)).replace(/^\/+/, '');
      startFile();
    } else if (req.method === 'POST') {
      const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
      const boundary = m?.[1] ?? m?.[2];
      if (!boundary) {
        req.resume();
        return answer(res, u, 400, { ok: false, error: 'expected multipart/form-data with a boundary' });
      }
      parser = new MultipartParser(boundary, {
        part: (h) => {
          field = h.name;
          text = '';
          if (h.filename !== undefined) {
            u.fileField = h.name;
            u.filename = h.filename;
            startFile();
          }
        },
        data: (b) => {
          if (field !== undefined && field === u.fileField) fileData(b);
          else text += b.toString('utf8');
        },
        end: () => {
          if (field !== undefined && field !== u.fileField) {
            u.fields[field] = text;
            if (field === pathField()) u.path ??= text;
          }
        },
      });
    } else {
      req.resume();
      return answer(res, u, 405, { ok: false, error: `${req.method} is not accepted here` });
    }

    req.on('data', (chunk: Buffer) => {
      try {
        if (parser) parser.write(chunk);
        else fileData(chunk);
      } catch (err) {
        cleanup();
        req.resume();
        if (!res.headersSent) answer(res, u, 400, { ok: false, error: (err as Error).message });
      }
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const finish = () => {
        u.size = size;
        u.sha256 = hash.digest('hex');
        const forced = options.respond?.(u, n);
        if (parser && !parser.finished) {
          cleanup();
          return answer(res, u, 400, { ok: false, error: 'the multipart body ended before its closing boundary' });
        }
        const target = u.path === undefined ? undefined : safeTarget(options.dir, u.path);
        if (!target || tmp === undefined) {
          cleanup();
          return answer(res, u, 400, { ok: false, error: `no file, or no usable path (${u.path ?? 'none'})` });
        }
        if (forced && (forced.status < 200 || forced.status > 299)) {
          cleanup();
          return answer(res, u, forced.status, forced.body ?? { ok: false }, forced.headers);
        }
        mkdirSync(dirname(target), { recursive: true });
        renameSync(tmp, target);
        if (forced) return answer(res, u, forced.status, forced.body ?? { ok: true }, forced.headers);
        answer(res, u, 201, { ok: true, path: u.path, size: u.size, sha256: u.sha256 });
      };
      if (out) out.end(finish);
      else finish();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    options,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
