/**
 * Errors are values with a kind (what retrying would do) and context (what they are about).
 * Providers only classify; the transfer pool decides what to do with each kind.
 */
export const ERROR_KINDS = [
  'retryable', // transient: try again after a backoff
  'rate-limited', // the destination asked us to slow down (retryAfterMs)
  'auth', // credentials refused or revoked: the person must act
  'not-found', // the thing is not there
  'conflict', // the path is taken by something of another type, or a name clash
  'quota', // the destination (or disk) is full
  'invalid-name', // the destination cannot hold this name
  'source-changed', // the local file changed while we read it: rescan, then retry
  'cancelled', // aborted by the person or by shutdown
  'permanent', // retrying will not help
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export type ErrorContext = {
  folder?: string;
  destination?: string;
  path?: string;
  remotePath?: string;
  rule?: string;
};

export class FerryError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly context: ErrorContext;
  readonly retryAfterMs: number | undefined;
  /** What the person can do about it, in one sentence. */
  readonly hint: string | undefined;

  constructor(
    kind: ErrorKind,
    code: string,
    message: string,
    opts: { context?: ErrorContext; retryAfterMs?: number; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FerryError';
    this.kind = kind;
    this.code = code;
    this.context = opts.context ?? {};
    this.retryAfterMs = opts.retryAfterMs;
    this.hint = opts.hint;
  }

  withContext(context: ErrorContext): FerryError {
    return new FerryError(this.kind, this.code, this.message, {
      context: { ...this.context, ...context },
      retryAfterMs: this.retryAfterMs,
      hint: this.hint,
      cause: this.cause,
    });
  }

  toJSON(): SerializedError {
    return {
      kind: this.kind,
      code: this.code,
      message: this.message,
      context: this.context,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}

export type SerializedError = {
  kind: ErrorKind;
  code: string;
  message: string;
  context: ErrorContext;
  hint?: string;
};

/** Whether the pool should try the same operation again later. */
export function isRetryable(kind: ErrorKind): boolean {
  return kind === 'retryable' || kind === 'rate-limited' || kind === 'source-changed';
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
