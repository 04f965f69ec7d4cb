import { ApiError } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import { classify as classifyGcs, GcsHttpError } from '../../src/main/engine/providers/gcs/gcsErrors';

/** The JSON API's error body, as the service and the emulator send it. */
const body = (code: number, message: string, reason: string) =>
  JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } });

/** The SDK's own error for the same answer (objects.get through @google-cloud/storage). */
const sdkError = (code: number, message: string, reason: string) =>
  new ApiError({ code, message, response: { body: body(code, message, reason) } as never });

const classify = (err: unknown) => classifyGcs(err, 'stat', {}, 'acme-backup-bucket');

describe('classify: what a 404 is about', () => {
  it('a missing object is not-found, even when its name and its bucket say "bucket"', () => {
    const message = 'No such object: acme-backup-bucket/bucket/notes.txt';
    expect(classify(new GcsHttpError(404, {}, body(404, message, 'notFound'))).code).toBe('not-found');
    expect(classify(sdkError(404, message, 'notFound')).code).toBe('not-found');
  });

  it('a missing bucket is container-missing, with a hint naming it', () => {
    const message = 'The specified bucket does not exist.';
    const fe = classify(new GcsHttpError(404, {}, body(404, message, 'notFound')));
    expect(fe.code).toBe('container-missing');
    expect(fe.hint).toContain('acme-backup-bucket');
    expect(classify(sdkError(404, message, 'notFound')).code).toBe('container-missing');
  });

  it('a failed precondition (412) is remote-changed', () => {
    const message = 'At least one of the pre-conditions you specified did not hold.';
    expect(classify(new GcsHttpError(412, {}, body(412, message, 'conditionNotMet'))).code).toBe('remote-changed');
  });
});
