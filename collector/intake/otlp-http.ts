// OTLP/HTTP's side of the intake's answers: the encoding a request names by its Content-Type, and
// errors as a google.rpc.Status in that encoding.

import type { Context } from 'hono';
import protobuf from 'protobufjs';
import type { OtlpEncoding } from './otlp-proto.ts';
import { IntakeError } from './types.ts';

/** gRPC status codes for the HTTP statuses the intake answers with (OTLP's Status.code). */
const GRPC_CODES: Record<IntakeError['status'], number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  429: 8,
  503: 14, // UNAVAILABLE
};

/** OTLP/HTTP errors are a google.rpc.Status in the request's encoding (JSON when it is unknown). */
export function otlpError(c: Context, err: IntakeError): Response {
  const code = GRPC_CODES[err.status];
  let encoding: OtlpEncoding = 'json';
  try {
    encoding = otlpEncoding(c.req.header('content-type'));
  } catch {
    // An unsupported content type is answered in JSON.
  }
  if (encoding === 'json') return c.json({ code, message: err.message }, err.status);
  const status = protobuf.Writer.create()
    .uint32(8)
    .int32(code)
    .uint32(18)
    .string(err.message)
    .finish();
  return c.body(status as Uint8Array<ArrayBuffer>, err.status, {
    'Content-Type': 'application/x-protobuf',
  });
}

export function otlpEncoding(contentType: string | undefined): OtlpEncoding {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  throw new IntakeError(
    415,
    `OTLP: Content-Type ${JSON.stringify(type)} is not supported (application/x-protobuf or application/json)`,
  );
}
