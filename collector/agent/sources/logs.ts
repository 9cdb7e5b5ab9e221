// The logs source: tails files by glob into log records (and access-log metrics), each line once.
//
// How "once" works: every chunk of records covers a byte range of one file (device + inode) and
// its id is made of that range and a hash of its lines, so reading the same bytes again gives the
// same id and JetStream's duplicate window drops the copy. A chunk's range is written to the
// checkpoint file as *pending* before the chunk is handed out, and only commit() moves the
// committed offset; after a restart the pending ranges are read again exactly, then reading goes
// on from there. Known limits: copytruncate loses the lines written after the last read and
// before the truncate (and a copy matched by the globs is read as a new file); a file rotated
// out of the globs while the agent is down is found again only in its old folder; what a writer
// adds to a rotated file after rotate_wait is not read.

import { z } from 'zod';
import { byteSize, duration } from '../../../core/config/schema.ts';
import { LOG_FORMATS } from '../log-parsers.ts';
import type { Source, SourceDefinition } from '../types.ts';
import { LogsSource } from '../logs/source.ts';

export { LogsSourceError } from '../logs/state.ts';

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const absoluteGlob = z
  .string({ error: 'expected an absolute path or glob like "/var/log/nginx/*.log"' })
  .refine((value) => value.startsWith('/'), {
    error: 'expected an absolute path or glob like "/var/log/nginx/*.log"',
  });

const regex = z
  .string({ error: 'expected a regular expression' })
  .min(1, { error: 'expected a regular expression' })
  .refine(
    (value) => {
      try {
        new RegExp(value);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'expected a valid regular expression' },
  );

const fieldName = z
  .string({ error: 'expected a JSON key' })
  .min(1, { error: 'expected a JSON key' });

export const logsOptions = z.strictObject({
  /** Absolute paths or globs of the files to tail. */
  paths: z
    .array(absoluteGlob, { error: 'expected a list of absolute paths or globs' })
    .min(1, { error: 'expected at least one path or glob' }),
  /** Globs of files to leave out; one without a leading / matches at any depth (**\/x). */
  exclude: z
    .array(z.string({ error: 'expected a glob' }).min(1, { error: 'expected a glob' }), {
      error: 'expected a list of globs',
    })
    .default([]),
  /**
   * How lines are read; a line the format does not fit is kept as plain text (parse_failed).
   * auto tries each line as JSON, syslog with a <PRI>, nginx, haproxy, then plain, and makes no
   * request metrics: name the format to get them.
   */
  format: z
    .enum(LOG_FORMATS, { error: `expected one of ${LOG_FORMATS.join(', ')}` })
    .default('plain'),
  /** Lines that do not match start_pattern are appended to the record before (stack traces). */
  multiline: z
    .strictObject({
      start_pattern: regex,
      max_lines: z
        .number({ error: 'expected a whole number from 1 to 100000' })
        .int({ error: 'expected a whole number from 1 to 100000' })
        .min(1, { error: 'expected a whole number from 1 to 100000' })
        .max(100_000, { error: 'expected a whole number from 1 to 100000' })
        .default(500),
      /** A record with no new line for this long is complete. */
      timeout: duration('2s'),
    })
    .optional(),
  /** Longer lines are cut here and marked truncated=true. */
  max_line_bytes: byteSize('64KiB'),
  /** Read per file per collection, so a large backlog is read over several collections. */
  max_read_bytes: byteSize('4MiB'),
  /** Where to begin a file that is there at the first start (a new file is read from its start). */
  start_at: z.enum(['end', 'beginning'], { error: 'expected end or beginning' }).default('end'),
  encoding: z
    .enum(['utf-8', 'utf8'], { error: 'expected utf-8 (the only one supported)' })
    .default('utf-8'),
  severity_field: fieldName.default('level'),
  message_field: fieldName.default('msg'),
  /** How long a file renamed or deleted away from the globs is still read before it is closed. */
  rotate_wait: duration('5s'),
  /** Request metrics from access logs (formats nginx, nginx_json and haproxy). */
  access_log: z
    .strictObject({
      metrics: z.boolean({ error: 'expected true or false' }).default(true),
      /** Path prefixes that become the route label ("/api/", "/static/"); others are "other". */
      route_label: z
        .array(
          z
            .string({ error: 'expected a path prefix like "/api/"' })
            .startsWith('/', { error: 'expected a path prefix like "/api/"' }),
          { error: 'expected a list of path prefixes' },
        )
        .default([]),
      buckets: z
        .array(z.number({ error: 'expected seconds' }).positive({ error: 'expected seconds' }), {
          error: 'expected a list of seconds',
        })
        .min(1, { error: 'expected at least one bucket' })
        .refine((list) => list.every((v, i) => i === 0 || v > list[i - 1]!), {
          error: 'expected buckets in increasing order',
        })
        .default(DEFAULT_BUCKETS),
    })
    .prefault({}),
});

export type LogsOptions = z.output<typeof logsOptions>;

export const logsSource: SourceDefinition<typeof logsOptions> = {
  type: 'logs',
  options: logsOptions,
  create(options, deps): Source {
    return new LogsSource(options, deps);
  },
};
