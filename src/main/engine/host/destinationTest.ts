import type { DestinationConfig } from '../../../shared/config';
import type { DestinationTestResult } from '../../../shared/contract';
import { FerryError } from '../../../shared/errors';
import { createDestination, type DestinationFactory } from '../providers/registry';
import type { ProviderDeps } from '../providers/types';
import { CHECK_FAILURES, type Destination } from '../providers/types';

/**
 * "Test connection": connects to a destination (saved or draft) and runs its check — reachable,
 * authorised, the bucket or folder exists, writable — and says which step failed and what to do.
 */
export async function testDestination(
  dc: DestinationConfig,
  factories: Map<string, DestinationFactory>,
  deps: ProviderDeps,
  signal?: AbortSignal,
): Promise<DestinationTestResult> {
  const started = Date.now();
  let dest: Destination | undefined;
  try {
    dest = await createDestination(dc, factories, deps);
    await dest.check(signal, { write: true });
    return {
      ok: true,
      step: null,
      message: [
        `destination "${dc.id}" (${dc.type}) is reachable, accepts the credentials, and can be written to`,
        ...(dest.notes ?? []),
      ].join('; '),
      hint: null,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const fe =
      err instanceof FerryError
        ? err
        : new FerryError('permanent', 'internal', (err as Error).message ?? String(err), { cause: err });
    return {
      ok: false,
      step: (CHECK_FAILURES as Record<string, DestinationTestResult['step']>)[fe.code] ?? 'connect',
      message: fe.message,
      hint: fe.hint ?? null,
      durationMs: Date.now() - started,
    };
  } finally {
    await dest?.close().catch(() => undefined);
  }
}
