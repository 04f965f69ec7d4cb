/** Exit codes: documented in the README. */
export const EXIT = { ok: 0, incomplete: 1, usage: 2, unavailable: 3, interrupted: 130 } as const;

/** Ends a command with this exit code and message (printed as `ferry: MESSAGE`). */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}
