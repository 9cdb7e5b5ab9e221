// Errors of the silence store, each with a stable code an API can map to a status (400, 404, 409).

import { HaloError } from '../../core/errors.ts';

/** A silence or matcher as given is not acceptable; the message names the field and the fix. */
export class SilenceValidationError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SILENCE_INVALID', message, options);
  }
}

/** No silence has this id (never created, or pruned after its retention). */
export class SilenceNotFoundError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SILENCE_NOT_FOUND', message, options);
  }
}

/** The silence has already ended; expiring it again would rewrite its audit record. */
export class SilenceExpiredError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SILENCE_EXPIRED', message, options);
  }
}
