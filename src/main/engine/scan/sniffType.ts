import type { fileTypeFromBuffer as FromBuffer } from 'file-type';

/**
 * How much of a file's start is sniffed: file-type's own sample size (its reasonableDetectionSizeInBytes),
 * enough for every signature it knows. The scanner takes these bytes from the read it already does
 * to hash the file, so sniffing never reads a file twice.
 */
export const SNIFF_BYTES = 4100;

// file-type is ESM-only and pulls in a few modules: loaded the first time a folder needs it, not
// with every file worker.
let loading: Promise<typeof FromBuffer> | undefined;
function fileTypeFromBuffer(): Promise<typeof FromBuffer> {
  loading ??= import('file-type').then((m) => m.fileTypeFromBuffer);
  return loading;
}

/**
 * The content type of a file from its first bytes (`head`, at most SNIFF_BYTES of them) and its size:
 * the magic number when file-type knows it, else `application/x-empty` for an empty file, `text/plain`
 * for valid UTF-8 without NUL bytes, else `application/octet-stream`. The file's name is never looked at.
 */
export async function sniffType(head: Uint8Array, fileSize: number): Promise<string> {
  if (fileSize === 0) return 'application/x-empty';
  const sample = head.length > SNIFF_BYTES ? head.subarray(0, SNIFF_BYTES) : head;
  try {
    const known = await (await fileTypeFromBuffer())(sample);
    if (known) return known.mime;
  } catch {
    // A parser that trips on a sample is no reason to fail the scan: judge the bytes as below.
  }
  return looksLikeText(sample, sample.length < fileSize) ? 'text/plain' : 'application/octet-stream';
}

/** Valid UTF-8 without NUL bytes; when the sample is only the file's start, it may end inside a character. */
function looksLikeText(sample: Uint8Array, truncated: boolean): boolean {
  if (sample.includes(0)) return false;
  try {
    // In streaming mode an incomplete sequence at the end is held back for more input, not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: truncated });
    return true;
  } catch {
    return false;
  }
}
