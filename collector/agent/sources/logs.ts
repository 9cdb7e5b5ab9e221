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

import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { glob } from 'tinyglobby';
import { z } from 'zod';
import { DEFAULT_BATCH_LIMITS } from '../../../core/batch.ts';
import { byteSize, duration } from '../../../core/config/schema.ts';
import type { Logger } from '../../../core/logger.ts';
import {
  ACCESS_FORMATS,
  LOG_FORMATS,
  MAX_ATTRIBUTE_LENGTH,
  parseLine,
  type AccessInfo,
  type ParsedLine,
} from '../log-parsers.ts';
import type {
  LogChunk,
  RawLogRecord,
  RawSample,
  Source,
  SourceContext,
  SourceDefinition,
  SourceDeps,
} from '../types.ts';

export class LogsSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LogsSourceError';
  }
}

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

type LogsOptions = z.output<typeof logsOptions>;

export const logsSource: SourceDefinition<typeof logsOptions> = {
  type: 'logs',
  options: logsOptions,
  create(options, deps): Source {
    return new LogsSource(options, deps);
  },
};

// ---------------------------------------------------------------- lines

/** One complete line and the bytes it covers, newline included. */
interface RawLine {
  start: number;
  end: number;
  text: string;
  truncated: boolean;
}

/** Drops a character cut in two at the end, so a cut line still decodes cleanly. */
function trimPartialChar(bytes: Buffer): Buffer {
  let i = bytes.length - 1;
  while (i > 0 && i > bytes.length - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return bytes;
  const lead = bytes[i]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + size > bytes.length ? bytes.subarray(0, i) : bytes;
}

function decode(bytes: Buffer): string {
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  // NUL runs come from a writer that kept its offset over a copytruncate: holes, not text.
  return text.includes('\0') ? text.replace(/\0+/g, '') : text;
}

/** Splits the bytes of a file into lines, keeping at most maxBytes of a line in memory. */
class LineSplitter {
  #start = 0;
  #parts: Buffer[] = [];
  #kept = 0;
  #dropped = false;

  constructor(
    readonly maxBytes: number,
    offset: number,
  ) {
    this.reset(offset);
  }

  reset(offset: number): void {
    this.#start = offset;
    this.#parts = [];
    this.#kept = 0;
    this.#dropped = false;
  }

  /** The complete lines in bytes read at `offset`, which must follow what was pushed before. */
  push(buf: Buffer, offset: number): RawLine[] {
    const lines: RawLine[] = [];
    let from = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      if (this.#kept === 0 && !this.#dropped && nl - from <= this.maxBytes) {
        const end = offset + nl + 1;
        lines.push({
          start: this.#start,
          end,
          text: decode(buf.subarray(from, nl)),
          truncated: false,
        });
        this.#start = end;
      } else {
        this.#keep(buf.subarray(from, nl));
        lines.push(this.#take(offset + nl + 1));
      }
      from = nl + 1;
    }
    this.#keep(buf.subarray(from));
    return lines;
  }

  /** The partial line as a line of its own: only for a file that grows no more. */
  flush(end: number): RawLine | undefined {
    return end > this.#start ? this.#take(end) : undefined;
  }

  #keep(bytes: Buffer): void {
    const room = this.maxBytes - this.#kept;
    if (bytes.length > room) this.#dropped = true;
    const part = bytes.subarray(0, Math.max(0, room));
    if (part.length === 0) return;
    this.#parts.push(Buffer.from(part));
    this.#kept += part.length;
  }

  #take(end: number): RawLine {
    const bytes = Buffer.concat(this.#parts);
    const line = {
      start: this.#start,
      end,
      text: decode(this.#dropped ? trimPartialChar(bytes) : bytes),
      truncated: this.#dropped,
    };
    this.reset(end);
    return line;
  }
}

// ---------------------------------------------------------------- records

const MAX_BODY = DEFAULT_BATCH_LIMITS.maxBodyLength;

/** The lines of one record and the bytes they cover. */
interface Group {
  start: number;
  end: number;
  lines: string[];
  count: number;
  chars: number;
  truncated: boolean;
  lastAt: number;
}

interface Multiline {
  pattern: RegExp;
  maxLines: number;
  timeoutMs: number;
}

const blank = (text: string) => text.trim() === '';

/** Groups lines into records: one line each, or a start line and its continuation lines. */
class RecordAssembler {
  #open: Group | undefined;

  constructor(private readonly multiline: Multiline | undefined) {}

  push(line: RawLine, now: number): Group[] {
    const open = this.#open;
    if (this.multiline && open && !this.multiline.pattern.test(line.text)) {
      if (open.count < this.multiline.maxLines) {
        append(open, line, now);
        return [];
      }
    }
    const done = open ? [open] : [];
    this.#open = undefined;
    if (blank(line.text)) return done;
    const group = newGroup(line, now);
    if (this.multiline) this.#open = group;
    else done.push(group);
    return done;
  }

  flush(): Group | undefined {
    const open = this.#open;
    this.#open = undefined;
    return open;
  }

  expired(now: number): boolean {
    return this.#open !== undefined && now - this.#open.lastAt >= this.multiline!.timeoutMs;
  }

  clear(): void {
    this.#open = undefined;
  }
}

function newGroup(line: RawLine, now: number): Group {
  const text = line.text.length > MAX_BODY ? line.text.slice(0, MAX_BODY) : line.text;
  return {
    start: line.start,
    end: line.end,
    lines: [text],
    count: 1,
    chars: text.length,
    truncated: line.truncated || text.length < line.text.length,
    lastAt: now,
  };
}

function append(group: Group, line: RawLine, now: number): void {
  group.end = line.end;
  group.count++;
  group.lastAt = now;
  group.truncated ||= line.truncated;
  // Past the body limit the lines still count for the byte range but are not kept.
  const room = MAX_BODY - group.chars - 1;
  if (room <= 0) {
    group.truncated = true;
    return;
  }
  const text = line.text.length > room ? line.text.slice(0, room) : line.text;
  if (text.length < line.text.length) group.truncated = true;
  group.lines.push(text);
  group.chars += text.length + 1;
}

// ---------------------------------------------------------------- checkpoints

interface Range {
  start: number;
  end: number;
}

interface Checkpoint {
  path: string;
  /** Bytes before this offset are published. */
  committed: number;
  /** Ranges handed out and not yet committed, in order; read again after a restart. */
  pending: Range[];
  /** A hash of the first headLen bytes, to tell a truncated or reused file. */
  headLen: number;
  headHash: string;
  /** The file is closed: the entry goes once its pending ranges are committed. */
  closed: boolean;
}

const STATE_FILE = 'logs-checkpoints.json';

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Checkpoints by file identity ("dev:ino") in one JSON file, replaced atomically. */
class CheckpointStore {
  readonly entries = new Map<string, Checkpoint>();
  /**
   * Whether an earlier run left a state file, and when it last wrote it: the file's mtime, from
   * the same (coarse) kernel clock as the birth times it is compared with.
   */
  existed = false;
  savedAt = 0;
  #chain: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
      this.savedAt = (await stat(file)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.existed = true;
    try {
      const state = JSON.parse(text) as { files?: Record<string, unknown> };
      for (const [key, value] of Object.entries(state.files ?? {})) {
        const checkpoint = toCheckpoint(value);
        if (checkpoint && /^\d+:\d+$/.test(key)) this.entries.set(key, checkpoint);
      }
    } catch (err) {
      this.logger.warn({ err }, 'log checkpoints unreadable; starting without them');
    }
  }

  /** Writes the current entries; calls made while a write waits share it. */
  save(): Promise<void> {
    if (this.#queued) return this.#queued;
    const run = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#write();
    });
    this.#queued = run;
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #write(): Promise<void> {
    const files: Record<string, unknown> = {};
    for (const [key, c] of this.entries) {
      files[key] = {
        path: c.path,
        committed: c.committed,
        pending: c.pending.map((r) => [r.start, r.end]),
        head_len: c.headLen,
        head_hash: c.headHash,
      };
    }
    const file = join(this.dir, STATE_FILE);
    const tmp = `${file}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify({ v: 1, files }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    await syncDir(this.dir);
  }
}

function toCheckpoint(value: unknown): Checkpoint | undefined {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== 'object' || v === null || typeof v['path'] !== 'string') return undefined;
  if (!isCount(v['committed']) || !isCount(v['head_len']) || typeof v['head_hash'] !== 'string')
    return undefined;
  const pending = Array.isArray(v['pending']) ? v['pending'] : [];
  const ranges = pending
    .filter((r): r is [number, number] => Array.isArray(r) && isCount(r[0]) && isCount(r[1]))
    .map(([start, end]) => ({ start, end }));
  return {
    path: v['path'],
    committed: v['committed'],
    pending: ranges,
    headLen: v['head_len'],
    headHash: v['head_hash'],
    closed: false,
  };
}

/** Makes a rename durable; some file systems cannot sync a folder, which is fine. */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

/** Pending ranges that can still be read again: those after the last truncation. */
function replayable(pending: Range[]): Range[] {
  let from = 0;
  for (let i = 1; i < pending.length; i++) {
    if (pending[i]!.start < pending[i - 1]!.end) from = i;
  }
  return pending.slice(from);
}

// ---------------------------------------------------------------- access metrics

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * http_requests_total{status_class,method[,route]} and http_request_duration_seconds{[route]},
 * cumulative since the source started. Every series is there from the start at zero, so the
 * agent's first sight of a series (which publishes nothing) never swallows real requests.
 */
class AccessMetrics {
  #requests = new Map<string, { labels: Record<string, string>; value: number }>();
  #durations = new Map<string, { counts: number[]; sum: number; count: number }>();
  readonly #routes: string[];

  constructor(
    routes: string[],
    private readonly bounds: number[],
  ) {
    this.#routes = [...routes].sort((a, b) => b.length - a.length);
    const routeValues = routes.length > 0 ? [...routes, 'other'] : [undefined];
    for (const route of routeValues) {
      for (const method of [...METHODS, 'OTHER']) {
        for (const statusClass of STATUS_CLASSES) {
          const labels: Record<string, string> = { status_class: statusClass, method };
          if (route !== undefined) labels['route'] = route;
          this.#requests.set(requestKey(labels), { labels, value: 0 });
        }
      }
      this.#durations.set(route ?? '', { counts: bounds.map(() => 0), sum: 0, count: 0 });
    }
  }

  observe(access: AccessInfo): void {
    if (!(access.status >= 100 && access.status <= 599)) return;
    const route = this.#route(access.path);
    const labels: Record<string, string> = {
      status_class: `${Math.floor(access.status / 100)}xx`,
      method: METHODS.includes(access.method) ? access.method : 'OTHER',
    };
    if (route !== undefined) labels['route'] = route;
    const series = this.#requests.get(requestKey(labels));
    if (series) series.value++;
    const seconds = access.requestTime;
    const histogram = this.#durations.get(route ?? '');
    if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0 || !histogram) return;
    this.bounds.forEach((le, i) => {
      if (seconds <= le) histogram.counts[i]!++;
    });
    histogram.sum += seconds;
    histogram.count++;
  }

  samples(): RawSample[] {
    const out: RawSample[] = [];
    for (const { labels, value } of this.#requests.values())
      out.push({ name: 'http_requests_total', labels: { ...labels }, value, type: 'counter' });
    for (const [route, h] of this.#durations) {
      const base: Record<string, string> = route === '' ? {} : { route };
      const name = 'http_request_duration_seconds';
      this.bounds.forEach((le, i) => {
        const labels = { ...base, le: String(le) };
        out.push({ name: `${name}_bucket`, labels, value: h.counts[i]!, type: 'counter' });
      });
      const inf = { ...base, le: '+Inf' };
      out.push({ name: `${name}_bucket`, labels: inf, value: h.count, type: 'counter' });
      out.push({ name: `${name}_sum`, labels: { ...base }, value: h.sum, type: 'counter' });
      out.push({ name: `${name}_count`, labels: { ...base }, value: h.count, type: 'counter' });
    }
    return out;
  }

  #route(path: string): string | undefined {
    if (this.#routes.length === 0) return undefined;
    const bare = path.split('?', 1)[0]!;
    return this.#routes.find((prefix) => bare.startsWith(prefix)) ?? 'other';
  }
}

const requestKey = (labels: Record<string, string>) =>
  `${labels['route'] ?? ''}\u0000${labels['method']}\u0000${labels['status_class']}`;

// ---------------------------------------------------------------- the source

/** First bytes looked at for NUL (binary) and hashed to recognise a file. */
const BINARY_PROBE_BYTES = 4096;
const HEAD_BYTES = 1024;
/** How far back from the end to look for a line start when starting at the end. */
const TAIL_PROBE_BYTES = 64 * 1024;
/** Entries of a folder searched for a rotated file after a restart. */
const MAX_DIR_ENTRIES = 10_000;
/** Line times outside what the ingester accepts (7 days old, 10 minutes ahead), with margin. */
const MAX_RECORD_AGE_MS = DEFAULT_BATCH_LIMITS.maxAgeMs - 3_600_000;
const MAX_RECORD_AHEAD_MS = DEFAULT_BATCH_LIMITS.maxFutureMs - 60_000;
/** A chunk is published as one message: keep it well under NATS's default 1 MiB payload. */
const CHUNK_MAX_RECORDS = 500;
const CHUNK_MAX_BYTES = 256 * 1024;
/** Chunks handed out and not committed, per file, before reading it pauses. */
const MAX_PENDING_CHUNKS = 256;

interface TrackedFile {
  key: string;
  dev: number;
  ino: number;
  path: string;
  handle: FileHandle | undefined;
  binary: boolean;
  /** Bytes of the head already checked for NUL. */
  probed: number;
  /** Next byte to read; ahead of emitOffset by the lines of an unfinished record. */
  readOffset: number;
  /** End of the last chunk handed out. */
  emitOffset: number;
  lines: LineSplitter;
  records: RecordAssembler;
  /** Ranges handed out by an earlier run and not committed: read again first, as they were. */
  replay: Range[];
  goneSince: number | undefined;
  closing: boolean;
  checkpoint: Checkpoint | undefined;
}

/** What a collection changed, to undo it when the collection is abandoned. */
interface Undo {
  files: Map<TrackedFile, { emitOffset: number; replay: Range[] }>;
  added: Array<{ checkpoint: Checkpoint; range: Range }>;
}

/** One collection: its clock, what to undo, the requests seen and the chunks made. */
interface Pass {
  now: number;
  undo: Undo;
  requests: AccessInfo[];
  chunks: LogChunk[];
}

const hashOf = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');
const errorCode = (err: unknown) =>
  (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));

class LogsSource implements Source {
  readonly name: string;
  readonly type = 'logs';
  readonly #options: LogsOptions;
  readonly #logger: Logger;
  readonly #store: CheckpointStore;
  readonly #multiline: Multiline | undefined;
  readonly #metrics: AccessMetrics | undefined;
  readonly #excludes: string[];
  readonly #rotateWaitMs: number;
  readonly #tracked = new Map<string, TrackedFile>();
  readonly #warned = new Set<string>();
  #loaded: Promise<void> | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #scanned = false;
  #reported = false;
  #dirty = false;

  constructor(options: LogsOptions, deps: SourceDeps) {
    this.name = deps.name;
    this.#options = options;
    this.#logger = deps.logger.child({ module: 'logs-source', source: deps.name });
    this.#store = new CheckpointStore(deps.stateDir, this.#logger);
    const m = options.multiline;
    this.#multiline = m && {
      pattern: new RegExp(m.start_pattern),
      maxLines: m.max_lines,
      timeoutMs: m.timeout.ms,
    };
    this.#metrics =
      ACCESS_FORMATS.has(options.format) && options.access_log.metrics
        ? new AccessMetrics(options.access_log.route_label, options.access_log.buckets)
        : undefined;
    this.#rotateWaitMs = options.rotate_wait.ms;
    this.#excludes = options.exclude.map((p) => (p.startsWith('/') ? p : `**/${p}`));
  }

  collect(ctx: SourceContext): Promise<{ samples: RawSample[]; logChunks: LogChunk[] }> {
    // One collection at a time, even if the agent gave up waiting for the one before.
    const run = this.#busy.then(() => this.#collect(ctx));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#busy;
    for (const file of this.#tracked.values()) await file.handle?.close().catch(() => undefined);
    this.#tracked.clear();
    if (this.#loaded) await this.#store.save().catch(() => undefined);
  }

  async #collect(ctx: SourceContext): Promise<{ samples: RawSample[]; logChunks: LogChunk[] }> {
    this.#loaded ??= this.#store.load();
    try {
      await this.#loaded;
    } catch (err) {
      this.#loaded = undefined;
      throw new LogsSourceError(`read log checkpoints in ${this.#store.dir}: ${errorCode(err)}`);
    }
    const now = ctx.now();
    await this.#discover(ctx, now);
    const pass: Pass = { now, undo: { files: new Map(), added: [] }, requests: [], chunks: [] };
    for (const file of [...this.#tracked.values()]) {
      if (ctx.signal.aborted) break;
      pass.undo.files.set(file, { emitOffset: file.emitOffset, replay: [...file.replay] });
      try {
        await this.#readFile(file, pass);
      } catch (err) {
        this.#warnOnce(`read:${file.key}`, { path: file.path, err }, 'cannot read log file');
      }
    }
    if (!ctx.signal.aborted && this.#dirty) {
      this.#dirty = false;
      await this.#store.save().catch((err: unknown) => {
        this.#dirty = true;
        this.#logger.warn({ err }, 'cannot write log checkpoints');
      });
    }
    if (ctx.signal.aborted) {
      this.#undo(pass.undo);
      throw new LogsSourceError('read log files: timed out');
    }
    await this.#closeDrained();
    return { samples: this.#samples(pass.requests), logChunks: pass.chunks };
  }

  /** Counters as they were before this collection the first time, so the agent sees a zero. */
  #samples(requests: AccessInfo[]): RawSample[] {
    if (!this.#metrics) return [];
    const first = this.#reported ? undefined : this.#metrics.samples();
    this.#reported = true;
    for (const request of requests) this.#metrics.observe(request);
    return first ?? this.#metrics.samples();
  }

  // ------------------------------------------------------------ finding files

  async #discover(ctx: SourceContext, now: number): Promise<void> {
    const found = await this.#scan(ctx.signal);
    const first = !this.#scanned;
    for (const file of this.#tracked.values()) {
      const path = found.get(file.key);
      if (path !== undefined) {
        file.path = path;
        if (file.checkpoint) file.checkpoint.path = path;
        file.goneSince = undefined;
      } else if (file.binary) {
        this.#tracked.delete(file.key);
        this.#warned.delete(`binary:${file.key}`);
      } else {
        file.goneSince ??= now;
      }
    }
    const failures: string[] = [];
    for (const [key, path] of found) {
      if (this.#tracked.has(key)) continue;
      const failure = await this.#track(path, first ? 'first' : 'later', undefined);
      if (failure) failures.push(failure);
    }
    if (first) await this.#adoptRotated(now);
    this.#scanned = true;
    if (failures.length > 0 && failures.length === found.size) {
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
      throw new LogsSourceError(`open log file ${failures[0]}${more}`);
    }
  }

  /** The files the globs match now, by identity. */
  async #scan(signal: AbortSignal): Promise<Map<string, string>> {
    let paths: string[];
    try {
      paths = await glob(this.#options.paths, {
        cwd: '/',
        absolute: true,
        ignore: this.#excludes,
        expandDirectories: false,
        followSymbolicLinks: true,
        signal,
      });
    } catch (err) {
      const reason = signal.aborted ? 'timed out' : errorCode(err);
      throw new LogsSourceError(`list log files: ${reason}`, { cause: err });
    }
    // An aborted crawl may return a partial list, which would make files look rotated away.
    if (signal.aborted) throw new LogsSourceError('list log files: timed out');
    paths.sort();
    const stats = await Promise.all(paths.map((path) => stat(path).catch(() => undefined)));
    const found = new Map<string, string>();
    paths.forEach((path, i) => {
      const s = stats[i];
      if (!s?.isFile()) return;
      const key = `${s.dev}:${s.ino}`;
      if (!found.has(key)) found.set(key, path);
    });
    return found;
  }

  /**
   * Opens a file and decides where to read it from: its checkpoint, or for a file without one,
   * start_at for files there at the first start and the beginning for files that appeared later.
   * A file adopted from outside the globs is read only to finish its checkpoint.
   * Returns "path: reason" when it cannot be opened.
   */
  async #track(
    path: string,
    found: 'first' | 'later' | 'adopt',
    goneSince: number | undefined,
  ): Promise<string | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.#warnOnce(`open:${path}`, { path, err }, 'cannot open log file');
      return `${path}: ${errorCode(err)}`;
    }
    let s: Awaited<ReturnType<FileHandle['stat']>>;
    try {
      s = await handle.stat();
    } catch (err) {
      await handle.close().catch(() => undefined);
      return `${path}: ${errorCode(err)}`;
    }
    const key = `${s.dev}:${s.ino}`;
    if (!s.isFile() || this.#tracked.has(key)) {
      await handle.close();
      return undefined;
    }
    const file: TrackedFile = {
      key,
      dev: s.dev,
      ino: s.ino,
      path,
      handle,
      binary: false,
      probed: 0,
      readOffset: 0,
      emitOffset: 0,
      lines: new LineSplitter(this.#options.max_line_bytes.bytes, 0),
      records: new RecordAssembler(this.#multiline),
      replay: [],
      goneSince,
      closing: false,
      checkpoint: undefined,
    };
    const saved = this.#store.entries.get(key) ?? this.#movedDevice(path, s.ino);
    let checkpoint = saved && (await headMatches(handle, saved, s.size)) ? saved : undefined;
    if (!checkpoint && found === 'adopt') {
      await handle.close();
      return undefined;
    }
    if (checkpoint) {
      file.replay = replayable(checkpoint.pending);
      checkpoint.pending = [...file.replay];
    } else {
      const start = await this.#startOffset(handle, s, found === 'first');
      checkpoint = { path, committed: start, pending: [], headLen: 0, headHash: '', closed: false };
    }
    this.#forgetCheckpoint(saved);
    this.#store.entries.set(key, checkpoint);
    this.#dirty = true;
    checkpoint.path = path;
    file.checkpoint = checkpoint;
    this.#seek(file, file.replay[0]?.start ?? checkpoint.committed);
    this.#tracked.set(key, file);
    return undefined;
  }

  /** A checkpoint saved under another device number (device numbers can change on reboot). */
  #movedDevice(path: string, ino: number): Checkpoint | undefined {
    for (const [key, checkpoint] of this.#store.entries) {
      if (checkpoint.path === path && key.endsWith(`:${ino}`) && !this.#tracked.has(key))
        return checkpoint;
    }
    return undefined;
  }

  #forgetCheckpoint(checkpoint: Checkpoint | undefined): void {
    if (!checkpoint) return;
    for (const [key, c] of this.#store.entries) {
      if (c === checkpoint) this.#store.entries.delete(key);
    }
  }

  async #startOffset(
    handle: FileHandle,
    s: { size: number; birthtimeMs: number; ctimeMs: number },
    first: boolean,
  ): Promise<number> {
    if (this.#options.start_at === 'beginning' || !first) return 0;
    // A file made while the agent was down is new: its first lines are not old news.
    const born = s.birthtimeMs > 0 ? s.birthtimeMs : s.ctimeMs;
    if (this.#store.existed && born >= this.#store.savedAt) return 0;
    return lineStartBefore(handle, s.size);
  }

  /**
   * After a restart, a checkpointed file the globs no longer match may have been rotated to a
   * name they miss (access.log → access.log.1): look for its inode next to where it was, and
   * read what is left. Checkpoints of files that are gone are dropped.
   */
  async #adoptRotated(now: number): Promise<void> {
    for (const [key, checkpoint] of [...this.#store.entries]) {
      if (this.#tracked.has(key)) continue;
      const path = await findInode(dirname(checkpoint.path), key);
      if (path !== undefined) await this.#track(path, 'adopt', now);
      if (this.#tracked.has(key)) continue;
      if (checkpoint.pending.length > 0) {
        this.#logger.warn(
          { path: checkpoint.path, chunks: checkpoint.pending.length },
          'log file gone with uncommitted chunks; what they held and was not yet published is lost',
        );
      }
      this.#forgetCheckpoint(checkpoint);
      this.#dirty = true;
    }
  }

  // ------------------------------------------------------------ reading

  #seek(file: TrackedFile, offset: number): void {
    file.readOffset = offset;
    file.emitOffset = offset;
    file.lines.reset(offset);
    file.records.clear();
  }

  async #readFile(file: TrackedFile, pass: Pass): Promise<void> {
    const handle = file.handle;
    if (!handle) return;
    const size = (await handle.stat()).size;
    // Every time, not only when the size changed: a copytruncate can bring back the same size.
    const head = await this.#probeHead(file, handle, size);
    if (head === 'binary') return;
    if (head === 'changed') this.#truncated(file, pass);
    const lastPending = file.replay[file.replay.length - 1];
    if (size < file.readOffset || (lastPending && lastPending.end > size))
      this.#truncated(file, pass);
    while (file.replay.length > 0) {
      const range = file.replay[0]!;
      const groups = await this.#readRange(file, handle, range);
      file.replay.shift();
      this.#emitReplayed(file, groups, range, pass);
    }
    if (file.checkpoint!.pending.length >= MAX_PENDING_CHUNKS) {
      // The agent is not committing: stop reading rather than pile up chunks (and state).
      this.#warnOnce(
        `pending:${file.key}`,
        { path: file.path },
        'log chunks not committed; waiting',
      );
      return;
    }
    this.#warned.delete(`pending:${file.key}`);
    const groups = await this.#readMore(file, handle, size, pass.now);
    const expired = file.goneSince !== undefined && pass.now - file.goneSince >= this.#rotateWaitMs;
    if (expired && file.readOffset >= size) {
      // Gone for good and read to the end: its last line needs no newline now.
      const last = file.lines.flush(file.readOffset);
      if (last) groups.push(...file.records.push(last, pass.now));
      const open = file.records.flush();
      if (open) groups.push(open);
      file.closing = true;
    }
    this.#emit(file, groups, pass);
  }

  /** Reads up to max_read_bytes after readOffset and returns the records it completes. */
  async #readMore(
    file: TrackedFile,
    handle: FileHandle,
    size: number,
    now: number,
  ): Promise<Group[]> {
    const groups: Group[] = [];
    const length = Math.min(size - file.readOffset, this.#options.max_read_bytes.bytes);
    if (length > 0) {
      const bytes = await readAt(handle, file.readOffset, length);
      for (const line of file.lines.push(bytes, file.readOffset))
        groups.push(...file.records.push(line, now));
      file.readOffset += bytes.length;
    }
    if (this.#multiline && file.records.expired(now)) groups.push(file.records.flush()!);
    return groups;
  }

  /** Reads a range handed out before a restart exactly as it was: same lines, same records. */
  async #readRange(file: TrackedFile, handle: FileHandle, range: Range): Promise<Group[]> {
    this.#seek(file, range.start);
    const groups: Group[] = [];
    while (file.readOffset < range.end) {
      const length = Math.min(range.end - file.readOffset, this.#options.max_read_bytes.bytes);
      const bytes = await readAt(handle, file.readOffset, length);
      if (bytes.length === 0) break;
      for (const line of file.lines.push(bytes, file.readOffset))
        groups.push(...file.records.push(line, 0));
      file.readOffset += bytes.length;
    }
    const last = file.lines.flush(file.readOffset);
    if (last) groups.push(...file.records.push(last, 0));
    const open = file.records.flush();
    if (open) groups.push(open);
    this.#seek(file, range.end);
    return groups;
  }

  /** Checks the head for NUL bytes and for a change (truncated, or a new file on the inode). */
  async #probeHead(
    file: TrackedFile,
    handle: FileHandle,
    size: number,
  ): Promise<'ok' | 'binary' | 'changed'> {
    const checkpoint = file.checkpoint!;
    const probing = file.probed < BINARY_PROBE_BYTES;
    const head = await readAt(handle, 0, Math.min(size, probing ? BINARY_PROBE_BYTES : HEAD_BYTES));
    if (probing && head.includes(0)) {
      this.#warnOnce(`binary:${file.key}`, { path: file.path }, 'skipping binary file');
      file.binary = true;
      file.handle = undefined;
      await handle.close();
      this.#forgetCheckpoint(checkpoint);
      this.#dirty = true;
      return 'binary';
    }
    file.probed = Math.max(file.probed, head.length);
    const known = checkpoint.headLen;
    const changed =
      known > 0 && (head.length < known || hashOf(head.subarray(0, known)) !== checkpoint.headHash);
    const headLen = changed ? 0 : known;
    if (headLen < HEAD_BYTES && head.length > headLen) {
      checkpoint.headLen = Math.min(head.length, HEAD_BYTES);
      checkpoint.headHash = hashOf(head.subarray(0, checkpoint.headLen));
      this.#dirty = true;
    }
    return changed ? 'changed' : 'ok';
  }

  /** The file was truncated (or copytruncated): finish the record in hand and start over. */
  #truncated(file: TrackedFile, pass: Pass): void {
    this.#logger.info({ path: file.path }, 'log file truncated; reading it from the start');
    const open = file.records.flush();
    this.#emit(file, open ? [open] : [], pass);
    file.replay = [];
    this.#seek(file, 0);
  }

  /**
   * Hands out finished records as chunks after emitOffset, each at most CHUNK_MAX_RECORDS
   * records and CHUNK_MAX_BYTES of lines so that one chunk fits one message; each range is
   * recorded as pending before the chunk leaves.
   */
  #emit(file: TrackedFile, groups: Group[], pass: Pass): void {
    const checkpoint = file.checkpoint!;
    let from = 0;
    while (from < groups.length) {
      const start = file.emitOffset;
      let to = from + 1;
      while (
        to < groups.length &&
        to - from < CHUNK_MAX_RECORDS &&
        groups[to]!.end - start <= CHUNK_MAX_BYTES
      )
        to++;
      const range = { start, end: groups[to - 1]!.end };
      checkpoint.pending.push(range);
      pass.undo.added.push({ checkpoint, range });
      file.emitOffset = range.end;
      this.#dirty = true;
      pass.chunks.push(this.#chunk(file, groups.slice(from, to), range, pass));
      from = to;
    }
  }

  /** A range handed out before a restart goes out again as one chunk, with its old id. */
  #emitReplayed(file: TrackedFile, groups: Group[], range: Range, pass: Pass): void {
    const checkpoint = file.checkpoint!;
    if (groups.length > 0) pass.chunks.push(this.#chunk(file, groups, range, pass));
    else {
      // Only a changed file reads back nothing; the range has nothing left to publish.
      const at = checkpoint.pending.indexOf(range);
      if (at >= 0) checkpoint.pending.splice(at, 1);
    }
  }

  /** The id is the file, the byte range and a hash of the lines: the same bytes, the same id. */
  #chunk(file: TrackedFile, groups: Group[], range: Range, pass: Pass): LogChunk {
    const checkpoint = file.checkpoint!;
    const hash = createHash('sha1');
    const records = groups.map((group) => {
      for (const line of group.lines) hash.update(line).update('\n');
      hash.update('\u0000');
      return this.#record(file, group, pass);
    });
    const digest = hash.digest('hex').slice(0, 16);
    let committed = false;
    return {
      id: `${this.name}:${file.dev}:${file.ino}:${range.start}-${range.end}:${digest}`,
      records,
      commit: async () => {
        if (committed) return;
        committed = true;
        await this.#commit(checkpoint, file.key, range);
      },
    };
  }

  async #commit(checkpoint: Checkpoint, key: string, range: Range): Promise<void> {
    checkpoint.committed = range.end;
    const at = checkpoint.pending.indexOf(range);
    if (at >= 0) checkpoint.pending.splice(0, at + 1);
    if (checkpoint.closed && checkpoint.pending.length === 0) {
      if (this.#store.entries.get(key) === checkpoint) this.#store.entries.delete(key);
    }
    await this.#store.save();
  }

  #record(file: TrackedFile, group: Group, pass: Pass): RawLogRecord {
    const now = pass.now;
    const parsed = this.#parse(group.lines[0]!, now);
    if (parsed.access) pass.requests.push(parsed.access);
    const attributes = { ...parsed.attributes };
    attributes['log_file_path'] = file.path.slice(0, MAX_ATTRIBUTE_LENGTH);
    let body =
      group.lines.length > 1 ? [parsed.body, ...group.lines.slice(1)].join('\n') : parsed.body;
    if (group.truncated || body.length > MAX_BODY) {
      body = body.slice(0, MAX_BODY);
      attributes['truncated'] = 'true';
    }
    let ts = parsed.ts === undefined ? now : Math.floor(parsed.ts);
    if (!(ts >= now - MAX_RECORD_AGE_MS && ts <= now + MAX_RECORD_AHEAD_MS)) {
      // The ingester refuses such times; keep the line, at the time it was read.
      const original = new Date(ts);
      if (Number.isFinite(original.getTime())) attributes['original_time'] = original.toISOString();
      ts = now;
    }
    const record: RawLogRecord = { ts, severity: parsed.severity, body, attributes };
    if (parsed.traceId !== undefined) record.traceId = parsed.traceId;
    return record;
  }

  /** Never throws: by now the line's bytes are in a chunk range, so it must become a record. */
  #parse(line: string, now: number): ParsedLine {
    try {
      return parseLine(this.#options.format, line, {
        severityField: this.#options.severity_field,
        messageField: this.#options.message_field,
        now,
      });
    } catch {
      return { severity: 'info', body: line, attributes: { parse_failed: 'true' } };
    }
  }

  /** Puts read positions back to the last chunk handed out, as if this collection never ran. */
  #undo(undo: Undo): void {
    for (const { checkpoint, range } of undo.added) {
      const at = checkpoint.pending.indexOf(range);
      if (at >= 0) checkpoint.pending.splice(at, 1);
    }
    for (const [file, before] of undo.files) {
      file.replay = before.replay;
      file.closing = false;
      this.#seek(file, before.replay[0]?.start ?? before.emitOffset);
    }
  }

  async #closeDrained(): Promise<void> {
    for (const file of [...this.#tracked.values()]) {
      if (!file.closing) continue;
      this.#tracked.delete(file.key);
      this.#warned.delete(`read:${file.key}`);
      await file.handle?.close().catch(() => undefined);
      const checkpoint = file.checkpoint!;
      checkpoint.closed = true;
      if (checkpoint.pending.length === 0) this.#forgetCheckpoint(checkpoint);
      this.#dirty = true;
    }
  }

  #warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#logger.warn(fields, message);
  }
}

// ---------------------------------------------------------------- file helpers

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled < length ? buffer.subarray(0, filled) : buffer;
}

async function headMatches(handle: FileHandle, checkpoint: Checkpoint, size: number) {
  if (checkpoint.headLen === 0) return true;
  if (size < checkpoint.headLen) return false;
  const head = await readAt(handle, 0, checkpoint.headLen);
  return hashOf(head) === checkpoint.headHash;
}

/** Where the last complete line ends, so starting at the end never starts mid-line. */
async function lineStartBefore(handle: FileHandle, size: number): Promise<number> {
  const from = Math.max(0, size - TAIL_PROBE_BYTES);
  const tail = await readAt(handle, from, size - from);
  const nl = tail.lastIndexOf(10);
  return nl === -1 ? size : from + nl + 1;
}

async function findInode(dir: string, key: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = (await readdir(dir)).slice(0, MAX_DIR_ENTRIES);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (s?.isFile() && `${s.dev}:${s.ino}` === key) return path;
  }
  return undefined;
}
