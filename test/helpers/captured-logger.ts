// A real logger whose lines are kept as text, for tests that check what reaches the log (and that
// no secret does).

import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/logger.ts';

export function capturedLogger(level = 'trace'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
