// Reads a remote_write or OTLP request body within the configured limits: the size as sent,
// then the size after gzip or deflate. An oversize body is a 413 before it is all read.

import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import { IntakeError } from './types.ts';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

export type ContentEncoding = 'identity' | 'gzip' | 'deflate';

/** A request's Content-Encoding, refused with a 415 unless Halo can undo it. */
export function contentEncoding(header: string | undefined): ContentEncoding {
  const name = (header ?? 'identity').trim().toLowerCase();
  if (name === 'identity' || name === '') return 'identity';
  if (name === 'gzip' || name === 'deflate') return name;
  throw new IntakeError(
    415,
    `Content-Encoding ${JSON.stringify(name)} is not supported (gzip, deflate or none)`,
  );
}

/** The 400 for a body that does not decompress. */
export function notCompressed(encoding: ContentEncoding, err: unknown): IntakeError {
  return new IntakeError(400, `the body is not valid ${encoding}: ${(err as Error).message}`);
}

/** The body without its Content-Encoding (gzip, deflate or none), at most maxBytes long. */
export async function decodeContent(
  body: Uint8Array,
  header: string | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  const encoding = contentEncoding(header);
  if (encoding === 'identity') return body;
  try {
    const inflateBody = encoding === 'gzip' ? gunzipAsync : inflateAsync;
    return await inflateBody(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new IntakeError(
        413,
        `the body is larger than intake.limits.max_decoded (${maxBytes} bytes) once decompressed`,
      );
    }
    throw notCompressed(encoding, err);
  }
}

function tooLarge(maxBytes: number): IntakeError {
  return new IntakeError(413, `the body is larger than intake.limits.max_body (${maxBytes} bytes)`);
}
