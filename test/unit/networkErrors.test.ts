import { describe, expect, it } from 'vitest';
import type { FerryError } from '../../src/shared/errors';
import { classify as classifyFtp } from '../../src/main/engine/providers/ftp/ftpErrors';
import { classify as classifyGcs } from '../../src/main/engine/providers/gcs/gcsErrors';
import { networkError } from '../../src/main/engine/providers/kit/httpTransport';
import { errorCode, isNetworkError, networkFailure } from '../../src/main/engine/providers/kit/networkErrors';
import { classify as classifyS3 } from '../../src/main/engine/providers/s3/s3Errors';
import { classify as classifySftp } from '../../src/main/engine/providers/sftp/sftpErrors';

const sys = (code: string) => Object.assign(new Error('failed'), { code });

describe('networkFailure: one table of network error codes for every provider', () => {
  it.each([
    ['ECONNREFUSED', 'unreachable'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ENETUNREACH', 'unreachable'],
    ['ENETDOWN', 'unreachable'],
    ['ENOTFOUND', 'unreachable'],
    ['EAI_AGAIN', 'unreachable'],
    ['ECONNRESET', 'lost'],
    ['ECONNABORTED', 'lost'],
    ['EPIPE', 'lost'],
    ['ETIMEDOUT', 'lost'],
    ['ESOCKETTIMEDOUT', 'lost'],
    ['EPROTO', 'lost'],
    ['ERR_STREAM_PREMATURE_CLOSE', 'lost'],
    ['ERR_STREAM_DESTROYED', 'lost'],
    ['ERR_STREAM_WRITE_AFTER_END', 'lost'],
    ['UND_ERR_SOCKET', 'lost'],
    ['UND_ERR_CONNECT_TIMEOUT', 'lost'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls-untrusted'],
    ['CERT_HAS_EXPIRED', 'tls-untrusted'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls-untrusted'],
  ] as const)('%s is %s', (code, kind) => {
    expect(networkFailure(sys(code))).toBe(kind);
  });

  it('reads the code of the cause a fetch wraps the socket error in', () => {
    const wrapped = Object.assign(new TypeError('fetch failed'), { cause: sys('ECONNRESET') });
    expect(errorCode(wrapped)).toBe('ECONNRESET');
    expect(isNetworkError(wrapped)).toBe(true);
  });

  it.each([
    ['a file-system code', sys('ENOENT')],
    ['a numeric protocol code (an FTP reply, an SFTP status)', Object.assign(new Error('x'), { code: 550 })],
    ['no code at all', new Error('boom')],
    ['not an error', 'ECONNRESET'],
    ['nothing', undefined],
  ])('is not a network failure: %s', (_what, err) => {
    expect(networkFailure(err)).toBeUndefined();
    expect(isNetworkError(err)).toBe(false);
  });
});

describe("each provider's classify sees the same network failures as retryable (they drifted apart)", () => {
  // Before the shared table these were permanent: FTP: ENETDOWN, EPROTO, UND_ERR_SOCKET; SFTP: the same
  // and ERR_STREAM_PREMATURE_CLOSE; GCS: EPROTO, ERR_STREAM_DESTROYED.
  const classifiers: [string, (err: unknown) => FerryError][] = [
    ['ftp', (e) => classifyFtp(e, 'upload a', {})],
    ['sftp', (e) => classifySftp(e, 'upload a', {})],
    ['s3', (e) => classifyS3(e, 'upload a', {})],
    ['gcs', (e) => classifyGcs(e, 'upload a', {}, 'bucket')],
    ['http', (e) => networkError(e as NodeJS.ErrnoException, 'PUT', new URL('http://127.0.0.1:1/a'))],
  ];
  for (const code of ['ENETDOWN', 'EPROTO', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'UND_ERR_SOCKET'])
    it.each(classifiers)(`%s: ${code} is retryable`, (_name, classify) => {
      expect(classify(sys(code)).kind).toBe('retryable');
    });
});
