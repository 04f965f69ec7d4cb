import { Readable } from 'node:stream';

/** Awaited before bytes are sent: the bandwidth cap and the pause (TransferOpts.pace). */
export type Pace = (bytes: number) => Promise<void>;

/**
 * How much of a request body goes to the socket per call of `pace`: at or under the cap's smallest
 * grain (paceGrain), so that a whole-request upload (8 MiB) is spread over its share of the cap
 * instead of booked at once and sent in one burst that overshoots a 3 s window.
 */
export const PACE_SLICE = 16 * 1024;

/** `buf` in slices of PACE_SLICE, each yielded once `pace` lets it go (whole when there is no pace). */
export async function* pacedSlices(buf: Buffer, pace: Pace | undefined): AsyncGenerator<Buffer> {
  if (!pace) {
    if (buf.length > 0) yield buf;
    return;
  }
  for (let off = 0; off < buf.length; off += PACE_SLICE) {
    const slice = buf.subarray(off, off + PACE_SLICE);
    await pace(slice.length);
    yield slice;
  }
}

/**
 * A request body over bytes already read and hashed, paced slice by slice as the HTTP client pulls
 * it: what goes on the wire is exactly what was hashed. `size` is the body's length, for the
 * Content-Length header of a client that cannot tell a stream's length. If `pace` throws (a pause),
 * `fail` is told so that the request can be torn down (a body stream's error does not end a request).
 */
export class PacedBody extends Readable {
  readonly size: number;

  constructor(buf: Buffer, pace: Pace | undefined, onBytes?: (n: number) => void, fail?: (err: unknown) => void) {
    let off = 0;
    super({
      highWaterMark: PACE_SLICE,
      read() {
        if (off >= buf.length) {
          this.push(null);
          return;
        }
        const chunk = buf.subarray(off, off + PACE_SLICE);
        off += chunk.length;
        const go = () => {
          onBytes?.(chunk.length);
          this.push(chunk);
        };
        if (!pace) go();
        else
          pace(chunk.length).then(go, (err: unknown) => {
            fail?.(err);
            this.destroy(err instanceof Error ? err : new Error(String(err)));
          });
      },
    });
    this.size = buf.length;
  }
}

/**
 * Runs one request whose body is `buf`, paced (see PacedBody), for HTTP clients that take a body
 * stream but do not end the request when it fails: a pace that throws (a pause) aborts the request
 * through the signal handed to `send`, and its error is the one thrown. `body()` makes a fresh stream
 * each time, for a client that sends the request again (a refreshed token).
 */
export async function sendPaced<T>(
  buf: Buffer,
  pace: Pace | undefined,
  signal: AbortSignal,
  send: (body: () => PacedBody, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const local = new AbortController();
  let paceError: unknown;
  const body = () =>
    new PacedBody(buf, pace, undefined, (err) => {
      paceError ??= err;
      local.abort(err);
    });
  try {
    return await send(body, AbortSignal.any([signal, local.signal]));
  } catch (err) {
    throw paceError ?? err;
  }
}
