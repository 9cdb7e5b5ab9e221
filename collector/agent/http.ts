// Bounded HTTP reads for sources: a time limit through the signal and a size limit on the body,
// so a slow or huge target never blocks or floods the agent.

export class FetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FetchError';
  }
}

export interface FetchTextOptions {
  signal: AbortSignal;
  /** Largest body accepted, in bytes (default 10 MiB). */
  maxBytes?: number;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
}

export interface FetchedText {
  status: number;
  headers: Headers;
  text: string;
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** GETs a URL and returns its body as text; throws FetchError when it is too big or too slow. */
export async function fetchText(url: string, options: FetchTextOptions): Promise<FetchedText> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  let response: Response;
  try {
    response = await fetch(url, {
      signal: options.signal,
      redirect: 'follow',
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.method ? { method: options.method } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
  } catch (err) {
    if (options.signal.aborted) throw new FetchError('timed out', { cause: err });
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new FetchError(cause?.code ?? cause?.message ?? (err as Error).message, { cause: err });
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new FetchError(`response of ${declared} bytes is larger than the limit of ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new FetchError(`response is larger than the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof FetchError) throw err;
    if (options.signal.aborted) throw new FetchError('timed out', { cause: err });
    throw new FetchError(`reading the response: ${(err as Error).message}`, { cause: err });
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: response.status, headers: response.headers, text };
}
