// The one pino logger of a process: JSON to stderr, secrets redacted, a `module` per component.

import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths that must never reach a log line, whatever a caller passes in. */
const REDACT = [
  'password',
  'token',
  'secret',
  'nkey_seed',
  'routing_key',
  '*.password',
  '*.token',
  '*.secret',
  '*.nkey_seed',
  '*.routing_key',
  '*.webhook_url',
];

export interface LoggerSettings {
  level?: string;
  /** Where lines go; stderr by default so that command output on stdout stays clean. */
  destination?: NodeJS.WritableStream | number;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { pid: process.pid },
    redact: { paths: REDACT, censor: '<secret>' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const destination = settings.destination ?? 2;
  return pino(
    options,
    typeof destination === 'number'
      ? pino.destination({ fd: destination, sync: true })
      : destination,
  );
}

/** A logger that writes nothing, for tests and library use without a process logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
