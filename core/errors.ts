// Named errors of Halo: each carries a stable code, keeps its cause, and never holds a secret.

export class HaloError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The configuration file or environment is wrong; the message names the key and the value. */
export class ConfigError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** ClickHouse refused or could not be reached. Keeps the server's code and type when it sent one. */
export class StoreError extends HaloError {
  readonly serverCode: string | undefined;
  readonly serverType: string | undefined;
  constructor(
    message: string,
    options?: { cause?: unknown; serverCode?: string; serverType?: string },
  ) {
    super('STORE', message, options);
    this.serverCode = options?.serverCode;
    this.serverType = options?.serverType;
  }
}

/** Another process holds the embedded data directory. */
export class LockError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LOCKED', message, options);
  }
}

/** NATS refused or could not be reached, or a stream could not be set up. */
export class BusError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BUS', message, options);
  }
}

/** A process could not start: a port in use, a missing binary, a data dir that is not writable. */
export class StartupError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STARTUP', message, options);
  }
}

/** The message of any thrown value, for one-line reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Prefixes context to an error's message while keeping it as the cause ("open store: …"). */
export function wrapError<E extends HaloError>(
  make: (message: string, options: { cause: unknown }) => E,
  context: string,
  err: unknown,
): E {
  return make(`${context}: ${errorMessage(err)}`, { cause: err });
}
