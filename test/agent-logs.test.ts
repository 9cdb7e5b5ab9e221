// Tests for the logs source: tailing real files through appends, rotations, truncations and
// restarts with every line published once, the line parsers, access-log metrics and a real nginx.

import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  renameSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../core/logger.ts';
import {
  parseLine,
  type LogFormat,
  type ParseOptions,
  type ParsedLine,
} from '../collector/agent/log-parsers.ts';
import { logsOptions, logsSource } from '../collector/agent/sources/logs.ts';
import type {
  LogChunk,
  RawLogRecord,
  RawSample,
  Source,
  SourceContext,
} from '../collector/agent/types.ts';
import { tempDir } from './helpers/temp.ts';
import { NGINX_TIMED_FORMAT, startNginx } from './helpers/tier-servers.ts';

// ---------------------------------------------------------------- a small agent

/** Plays the agent: collects, publishes through a JetStream-like duplicate filter, commits. */
class FakeAgent {
  clock = Date.now();
  readonly seen = new Set<string>();
  readonly records: RawLogRecord[] = [];
  readonly ids: string[] = [];
  samples: RawSample[] = [];

  get bodies(): string[] {
    return this.records.map((r) => r.body);
  }

  ctx(signal = new AbortController().signal): SourceContext {
    return { signal, now: () => this.clock, logger: silentLogger() };
  }

  async collect(source: Source, commit = true): Promise<LogChunk[]> {
    const { samples, logChunks = [] } = await source.collect(this.ctx());
    this.samples = samples;
    for (const chunk of logChunks) {
      this.ids.push(chunk.id);
      if (!this.seen.has(chunk.id)) {
        this.seen.add(chunk.id);
        this.records.push(...chunk.records);
      }
      if (commit) await chunk.commit();
    }
    return logChunks;
  }

  advance(ms: number): void {
    this.clock += ms;
  }
}

function createSource(
  agent: FakeAgent,
  stateDir: string,
  options: Record<string, unknown>,
  logger: Logger = silentLogger(),
): Source {
  return logsSource.create(logsOptions.parse(options), {
    name: 'app-logs',
    logger,
    stateDir,
    now: () => agent.clock,
  });
}

const lines = (...texts: string[]) => texts.map((t) => `${t}\n`).join('');

function setup(options: Record<string, unknown> = {}, file = 'app.log') {
  const dir = tempDir('halo-logs-');
  const stateDir = join(dir, 'state');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const path = join(logs, file);
  const agent = new FakeAgent();
  const make = (extra: Record<string, unknown> = {}) =>
    createSource(agent, stateDir, { paths: [path], ...options, ...extra });
  return { dir, logs, path, stateDir, agent, make };
}

function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    lines: () => out.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

// ---------------------------------------------------------------- tailing

describe('tailing a file', () => {
  it('publishes lines appended across several collections once each, in order', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('one', 'two'));
    const source = make();
    await agent.collect(source);
    appendFileSync(path, lines('three'));
    await agent.collect(source);
    await agent.collect(source);
    appendFileSync(path, lines('four', 'five'));
    await agent.collect(source);
    expect(agent.bodies).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(agent.records[0]!.attributes['log_file_path']).toBe(path);
    expect(agent.ids[0]).toMatch(/^app-logs:\d+:\d+:0-8:[0-9a-f]{16}$/);
    await source.close!();
  });

  it('starts at the end of a file that is there at the first start, by default', async () => {
    const { path, logs, agent, make } = setup();
    writeFileSync(path, lines('old news'));
    const source = make({ paths: [join(logs, '*.log')] });
    await agent.collect(source);
    appendFileSync(path, lines('fresh'));
    writeFileSync(join(logs, 'later.log'), lines('a file made later is read from its start'));
    await agent.collect(source);
    expect(agent.bodies).toEqual(['fresh', 'a file made later is read from its start']);
    await source.close!();
  });

  it('holds a half-written line until its newline arrives', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, 'first\nhalf of a li');
    const source = make();
    await agent.collect(source);
    expect(agent.bodies).toEqual(['first']);
    appendFileSync(path, 'ne and more');
    await agent.collect(source);
    expect(agent.bodies).toEqual(['first']);
    appendFileSync(path, '\r\n');
    await agent.collect(source);
    expect(agent.bodies).toEqual(['first', 'half of a line and more']);
    await source.close!();
  });

  it('reads a large backlog over several collections, max_read_bytes at a time', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning', max_read_bytes: '8KiB' });
    const expected = Array.from({ length: 1000 }, (_, i) => `line ${i} ${'x'.repeat(80)}`);
    writeFileSync(path, lines(...expected));
    const source = make();
    let collections = 0;
    while (agent.records.length < expected.length && collections < 100) {
      const chunks = await agent.collect(source);
      collections++;
      expect(chunks.length).toBeLessThanOrEqual(1);
    }
    expect(agent.bodies).toEqual(expected);
    expect(collections).toBeGreaterThanOrEqual(11);
    await source.close!();
  });

  it('cuts a 1 MiB line to max_line_bytes and marks it truncated', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    // 3-byte characters: 64 KiB ends inside one, which is dropped rather than mangled.
    writeFileSync(path, `${'€'.repeat(350_000)}\nafter\n`);
    const source = make();
    await agent.collect(source);
    expect(agent.records).toHaveLength(2);
    const [long, after] = agent.records;
    expect(Buffer.byteLength(long!.body)).toBe(64 * 1024 - 1);
    expect(long!.body).toBe('€'.repeat(21_845));
    expect(long!.attributes['truncated']).toBe('true');
    expect(after!.body).toBe('after');
    expect(after!.attributes['truncated']).toBeUndefined();
    await source.close!();
  });

  it('cuts a line longer than max_read_bytes, read over several collections', async () => {
    const { path, agent, make } = setup({
      start_at: 'beginning',
      max_read_bytes: '256KiB',
      max_line_bytes: '1KiB',
    });
    writeFileSync(path, `${'y'.repeat(1024 * 1024)}\nnext\n`);
    const source = make();
    for (let i = 0; i < 6; i++) await agent.collect(source);
    expect(agent.bodies).toEqual(['y'.repeat(1024), 'next']);
    expect(agent.records[0]!.attributes['truncated']).toBe('true');
    await source.close!();
  });

  it('turns garbage lines into records without stopping', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning', format: 'json' });
    const deep = `{"msg":"deep","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    writeFileSync(
      path,
      Buffer.concat([
        Buffer.from(
          lines('{"time":1e300,"msg":"far future"}', '{"ts":"1970-01-01T00:00:00Z","msg":"epoch"}'),
        ),
        Buffer.from([0xff, 0xfe, 0x41, 0x0a]),
        Buffer.from(lines('{', '[1,2]', '\r', deep, 'last')),
      ]),
    );
    const source = make();
    await agent.collect(source);
    expect(agent.bodies).toEqual([
      'far future',
      'epoch',
      '\ufffd\ufffdA',
      '{',
      '[1,2]',
      'deep',
      'last',
    ]);
    const [far, epoch] = agent.records;
    expect(far!.ts).toBe(agent.clock);
    expect(epoch!.ts).toBe(agent.clock);
    expect(epoch!.attributes['original_time']).toBe('1970-01-01T00:00:00.000Z');
    await source.close!();
  });

  it('skips a binary file in the globs, with one warning', async () => {
    const { logs, agent, stateDir } = setup();
    writeFileSync(join(logs, 'app.log'), '');
    writeFileSync(join(logs, 'core.dump'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 10]));
    writeFileSync(join(logs, 'old.log.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 10]));
    const capture = captureLogger();
    const source = createSource(
      agent,
      stateDir,
      { paths: [join(logs, '*')], exclude: ['*.gz'], start_at: 'beginning' },
      capture.logger,
    );
    appendFileSync(join(logs, 'core.dump'), 'text\n');
    appendFileSync(join(logs, 'app.log'), lines('hello'));
    await agent.collect(source);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['hello']);
    const warnings = capture.lines().filter((l) => l['msg'] === 'skipping binary file');
    expect(warnings.map((w) => w['path'])).toEqual([join(logs, 'core.dump')]);
    await source.close!();
  });
});

// ---------------------------------------------------------------- rotation and truncation

describe('rotation and truncation', () => {
  it.each([
    { name: 'when the globs miss the rotated name', glob: 'access.log' },
    { name: 'when the globs match the rotated name too', glob: 'access.log*' },
  ])('finishes a renamed file and reads its successor from the start $name', async ({ glob }) => {
    const { logs, path, agent, make } = setup({ start_at: 'beginning' }, 'access.log');
    writeFileSync(path, lines('a1', 'a2'));
    const source = make({ paths: [join(logs, glob)], rotate_wait: '5s' });
    await agent.collect(source);
    appendFileSync(path, lines('a3', 'a4'));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines('b1', 'b2'));
    await agent.collect(source);
    // The writer has not reopened yet: it still writes to the renamed file.
    appendFileSync(`${path}.1`, lines('a5'));
    agent.advance(1000);
    await agent.collect(source);
    agent.advance(10_000);
    appendFileSync(path, lines('b3'));
    await agent.collect(source);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'a5', 'b3']);
    await source.close!();
  });

  it('emits the last line of a rotated file without its newline once it is closed', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning', rotate_wait: '2s' });
    writeFileSync(path, 'done\nno newline');
    const source = make();
    await agent.collect(source);
    renameSync(path, `${path}.1`);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['done']);
    agent.advance(3000);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['done', 'no newline']);
    await source.close!();
  });

  it('reads a file truncated in place from the start', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('l1', 'l2', 'l3'));
    const source = make();
    await agent.collect(source);
    truncateSync(path, 0);
    appendFileSync(path, lines('l4'));
    await agent.collect(source);
    expect(agent.bodies).toEqual(['l1', 'l2', 'l3', 'l4']);
    await source.close!();
  });

  it('tells a truncated file that grew past the old offset by its first bytes', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('short 1', 'short 2'));
    const source = make();
    await agent.collect(source);
    truncateSync(path, 0);
    appendFileSync(path, lines('a longer first line', 'and a second', 'and a third'));
    await agent.collect(source);
    expect(agent.bodies).toEqual([
      'short 1',
      'short 2',
      'a longer first line',
      'and a second',
      'and a third',
    ]);
    await source.close!();
  });

  it('tells a file rewritten to the same size, and gives its lines another id', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('first 1', 'first 2'));
    const source = make();
    await agent.collect(source);
    truncateSync(path, 0);
    appendFileSync(path, lines('other 1', 'other 2'));
    await agent.collect(source);
    expect(agent.bodies).toEqual(['first 1', 'first 2', 'other 1', 'other 2']);
    // The same byte range with other lines: were the ids equal, the duplicate filter would drop them.
    expect(agent.ids).toHaveLength(2);
    expect(agent.ids[0]!.split(':').slice(0, 4)).toEqual(agent.ids[1]!.split(':').slice(0, 4));
    expect(agent.ids[0]).not.toBe(agent.ids[1]);
    await source.close!();
  });

  it('follows copytruncate, losing only what was written after the last read', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('c1', 'c2'));
    const source = make();
    await agent.collect(source);
    appendFileSync(path, lines('c3'));
    await agent.collect(source);
    // logrotate copytruncate: c4 lands after our last read and before the truncate; it is only
    // in the copy, which the globs do not match. That loss is inherent to copytruncate.
    appendFileSync(path, lines('c4'));
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines('c5', 'c6'));
    await agent.collect(source);
    expect(agent.bodies).toEqual(['c1', 'c2', 'c3', 'c5', 'c6']);
    await source.close!();
  });
});

// ---------------------------------------------------------------- restarts

describe('restarts', () => {
  it('resumes after the last committed line, including lines written while down', async () => {
    const { path, agent, make } = setup();
    writeFileSync(path, lines('before the first start'));
    let source = make();
    await agent.collect(source);
    appendFileSync(path, lines('r1', 'r2'));
    await agent.collect(source);
    await source.close!();
    appendFileSync(path, lines('r3 while down'));
    source = make();
    await agent.collect(source);
    appendFileSync(path, lines('r4'));
    await agent.collect(source);
    expect(agent.bodies).toEqual(['r1', 'r2', 'r3 while down', 'r4']);
    await source.close!();
  });

  it('reads an uncommitted chunk again with the same id, so the duplicate filter drops it', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('u1', 'u2'));
    let source = make();
    await agent.collect(source);
    appendFileSync(path, lines('u3', 'u4'));
    const [uncommitted] = await agent.collect(source, false);
    expect(uncommitted!.records.map((r) => r.body)).toEqual(['u3', 'u4']);
    // The agent dies after publishing and before commit; meanwhile the file grows.
    await source.close!();
    appendFileSync(path, lines('u5'));
    source = make();
    const chunks = await agent.collect(source);
    expect(chunks.map((c) => c.id)[0]).toBe(uncommitted!.id);
    expect(chunks[0]!.records.map((r) => r.body)).toEqual(['u3', 'u4']);
    expect(agent.bodies).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    // Without the filter u3 and u4 would have been published twice.
    expect(agent.ids.filter((id) => id === uncommitted!.id)).toHaveLength(2);
    await agent.collect(source);
    await source.close!();
    source = make();
    await agent.collect(source);
    expect(agent.bodies).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    await source.close!();
  });

  it('splits a large read into chunks, and reads each uncommitted one again with its id', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    const expected = Array.from({ length: 1800 }, (_, i) => `event ${i}`);
    writeFileSync(path, lines(...expected));
    let source = make();
    const first = await agent.collect(source, false);
    expect(first.map((c) => c.records.length)).toEqual([500, 500, 500, 300]);
    const ranges = first.map((c) => c.id.split(':')[3]!.split('-').map(Number));
    ranges.forEach((range, i) => expect(range[0]).toBe(i === 0 ? 0 : ranges[i - 1]![1]));
    await first[0]!.commit();
    await first[1]!.commit();
    await source.close!();
    source = make();
    const again = await agent.collect(source);
    expect(again.map((c) => c.id)).toEqual(first.slice(2).map((c) => c.id));
    expect(agent.bodies).toEqual(expected);
    await source.close!();
  });

  it('finishes a file rotated while the agent was down and reads its successor', async () => {
    const { path, agent, make } = setup({ start_at: 'end' }, 'access.log');
    writeFileSync(path, '');
    let source = make({ rotate_wait: '1s' });
    await agent.collect(source);
    appendFileSync(path, lines('a1'));
    await agent.collect(source);
    appendFileSync(path, lines('a2'));
    await agent.collect(source, false);
    await source.close!();
    appendFileSync(path, lines('a3'));
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines('b1'));
    source = make({ rotate_wait: '1s' });
    await agent.collect(source);
    agent.advance(2000);
    await agent.collect(source);
    expect([...agent.bodies].sort()).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(agent.bodies.indexOf('a2')).toBeLessThan(agent.bodies.indexOf('a3'));
    await source.close!();
  });

  it('keeps an unfinished multi-line record uncommitted across a restart', async () => {
    const { path, agent, make } = setup({
      start_at: 'beginning',
      multiline: { start_pattern: '^\\d{4}-\\d{2}-\\d{2}', timeout: '2s' },
    });
    writeFileSync(path, lines('2024-05-01 10:00:00 ERROR failed', 'java.lang.Error: x'));
    let source = make();
    await agent.collect(source);
    await source.close!();
    appendFileSync(path, lines('\tat A.b(A.java:1)', '2024-05-01 10:00:01 INFO next'));
    source = make();
    await agent.collect(source);
    agent.advance(5000);
    await agent.collect(source);
    expect(agent.bodies).toEqual([
      '2024-05-01 10:00:00 ERROR failed\njava.lang.Error: x\n\tat A.b(A.java:1)',
      '2024-05-01 10:00:01 INFO next',
    ]);
    await source.close!();
  });

  it('reads a file truncated while the agent was down from its start', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('before 1', 'before 2'));
    let source = make();
    await agent.collect(source);
    await source.close!();
    truncateSync(path, 0);
    appendFileSync(path, lines('after'));
    source = make();
    await agent.collect(source);
    expect(agent.bodies).toEqual(['before 1', 'before 2', 'after']);
    await source.close!();
  });

  it('undoes a collection that times out halfway, then reads it all once', async () => {
    const { logs, agent, stateDir } = setup();
    const [a, b] = [join(logs, 'a.log'), join(logs, 'b.log')];
    writeFileSync(a, lines('a1', 'a2'));
    writeFileSync(b, lines('b1'));
    const timeout = new AbortController();
    // The source logs the truncation of a.log while reading it: time runs out right then.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (chunk.toString().includes('truncated')) timeout.abort();
        done();
      },
    });
    const source = createSource(
      agent,
      stateDir,
      { paths: [join(logs, '*.log')], start_at: 'beginning' },
      pino({ level: 'info' }, stream),
    );
    await agent.collect(source);
    truncateSync(a, 0);
    appendFileSync(a, lines('a3'));
    appendFileSync(b, lines('b2'));
    await expect(source.collect(agent.ctx(timeout.signal))).rejects.toThrow(/timed out/);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['a1', 'a2', 'b1', 'a3', 'b2']);
    await source.close!();
  });

  it('puts everything back when the collection times out, and loses nothing', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning' });
    writeFileSync(path, lines('t1', 't2'));
    const source = make();
    const aborted = new AbortController();
    aborted.abort();
    await expect(source.collect(agent.ctx(aborted.signal))).rejects.toThrow(/timed out/);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['t1', 't2']);
    await source.close!();
  });
});

// ---------------------------------------------------------------- multi-line records

describe('multi-line records', () => {
  const JAVA = [
    '2024-05-01 10:00:00.123 ERROR [main] c.e.Api - request failed',
    'java.lang.IllegalStateException: boom',
    '\tat com.example.Api.handle(Api.java:42)',
    '\tat com.example.Main.main(Main.java:7)',
    'Caused by: java.io.IOException: disk full',
    '\t... 2 more',
  ];
  const PYTHON = [
    '2024-05-01 10:00:01,456 ERROR app: could not parse',
    'Traceback (most recent call last):',
    '  File "/srv/app/main.py", line 3, in <module>',
    '    main()',
    '',
    'ValueError: bad input',
  ];

  it('joins Java and Python stack traces into one record each', async () => {
    const { path, agent, make } = setup({
      start_at: 'beginning',
      multiline: { start_pattern: '^\\d{4}-\\d{2}-\\d{2} ' },
    });
    writeFileSync(path, lines(...JAVA, ...PYTHON, '2024-05-01 10:00:02 INFO ok'));
    const source = make();
    await agent.collect(source);
    expect(agent.bodies).toEqual([JAVA.join('\n'), PYTHON.join('\n')]);
    expect(agent.records.map((r) => r.severity)).toEqual(['error', 'error']);
    agent.advance(1000);
    await agent.collect(source);
    expect(agent.records).toHaveLength(2);
    agent.advance(1000);
    await agent.collect(source);
    expect(agent.bodies[2]).toBe('2024-05-01 10:00:02 INFO ok');
    await source.close!();
  });

  it('ends a record at max_lines', async () => {
    const { path, agent, make } = setup({
      start_at: 'beginning',
      multiline: { start_pattern: '^START', max_lines: 3, timeout: '1s' },
    });
    writeFileSync(path, lines('START', 'a', 'b', 'c', 'd'));
    const source = make();
    await agent.collect(source);
    agent.advance(1000);
    await agent.collect(source);
    expect(agent.bodies).toEqual(['START\na\nb', 'c\nd']);
    await source.close!();
  });
});

// ---------------------------------------------------------------- parsers

const NOW = new Date(2024, 0, 5, 12, 0, 0).getTime();
const OPTIONS: ParseOptions = { severityField: 'level', messageField: 'msg', now: NOW };

interface ParserCase {
  name: string;
  format: LogFormat;
  line: string;
  options?: Partial<ParseOptions>;
  expected: Partial<ParsedLine>;
  attributes?: Record<string, string | undefined>;
}

const COMBINED =
  '203.0.113.9 - alice [10/Oct/2023:13:55:36 -0700] "GET /api/items?id=1 HTTP/1.1" 200 512 ' +
  '"https://example.com/" "curl/8.0"';

const PARSER_CASES: ParserCase[] = [
  {
    name: 'nginx combined without request_time gives the request and no duration',
    format: 'nginx',
    line: COMBINED,
    expected: {
      ts: Date.UTC(2023, 9, 10, 20, 55, 36),
      severity: 'info',
      body: COMBINED,
      access: { method: 'GET', path: '/api/items?id=1', status: 200 },
    },
    attributes: {
      remote_addr: '203.0.113.9',
      remote_user: 'alice',
      method: 'GET',
      path: '/api/items?id=1',
      protocol: 'HTTP/1.1',
      status: '200',
      bytes: '512',
      referer: 'https://example.com/',
      user_agent: 'curl/8.0',
      request_time: undefined,
    },
  },
  {
    name: 'nginx combined with a trailing request_time gives the duration',
    format: 'nginx',
    line: COMBINED.replace('200 512', '503 0') + ' 0.123',
    expected: {
      severity: 'error',
      access: { method: 'GET', path: '/api/items?id=1', status: 503, requestTime: 0.123 },
    },
    attributes: { request_time: '0.123', status: '503' },
  },
  {
    name: 'nginx combined with rt= after the user agent gives the duration',
    format: 'nginx',
    line: COMBINED.replace('200 512', '404 10') + ' rt=1.5 uct="0.001"',
    expected: {
      severity: 'warn',
      access: { method: 'GET', path: '/api/items?id=1', status: 404, requestTime: 1.5 },
    },
  },
  {
    name: 'the common log format (no referer, no user agent) is read as nginx',
    format: 'nginx',
    line: '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "POST /apache_pb.gif HTTP/1.0" 201 2326',
    expected: { access: { method: 'POST', path: '/apache_pb.gif', status: 201 } },
    attributes: { remote_user: undefined, user_agent: undefined, bytes: '2326' },
  },
  {
    name: 'a TLS handshake on a plain port keeps its status and no method',
    format: 'nginx',
    line: '198.51.100.7 - - [10/Oct/2023:13:55:36 +0000] "\\x16\\x03\\x01\\x02" 400 157 "-" "-"',
    expected: { severity: 'warn', access: { method: '', path: '', status: 400 } },
    attributes: { method: undefined, referer: undefined },
  },
  {
    name: 'a line that is not an access line becomes a plain record marked parse_failed',
    format: 'nginx',
    line: 'this is not an access line',
    expected: { severity: 'info', body: 'this is not an access line', access: undefined },
    attributes: { parse_failed: 'true' },
  },
  {
    name: 'nginx JSON with a request line and string numbers',
    format: 'nginx_json',
    line: JSON.stringify({
      time_iso8601: '2023-10-10T13:55:36-07:00',
      remote_addr: '10.0.0.1',
      request: 'POST /login HTTP/2.0',
      status: 401,
      body_bytes_sent: '0',
      request_time: '0.015',
      http_user_agent: 'Mozilla/5.0',
      upstream_addr: '10.0.0.9:8080',
      host: 'shop.example.com',
    }),
    expected: {
      ts: Date.UTC(2023, 9, 10, 20, 55, 36),
      severity: 'warn',
      access: { method: 'POST', path: '/login', status: 401, requestTime: 0.015 },
    },
    attributes: {
      protocol: 'HTTP/2.0',
      bytes: '0',
      user_agent: 'Mozilla/5.0',
      upstream_addr: '10.0.0.9:8080',
      host: undefined,
      log_host: 'shop.example.com',
    },
  },
  {
    name: 'nginx JSON with request_method, request_uri and $msec',
    format: 'nginx_json',
    line: '{"msec":"1704448800.250","request_method":"get","request_uri":"/x","status":"502","request_time":2}',
    expected: {
      ts: 1704448800250,
      severity: 'error',
      access: { method: 'GET', path: '/x', status: 502, requestTime: 2 },
    },
  },
  {
    name: 'haproxy httplog after a syslog prefix, with captures',
    format: 'haproxy',
    line:
      'Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] ' +
      'http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} ' +
      '"GET /index.html HTTP/1.1"',
    expected: {
      ts: new Date(2009, 1, 6, 12, 14, 14, 655).getTime(),
      severity: 'info',
      access: { method: 'GET', path: '/index.html', status: 200, requestTime: 0.109 },
    },
    attributes: {
      remote_addr: '10.0.1.2',
      frontend: 'http-in',
      backend: 'static',
      server: 'srv1',
      termination_state: '----',
      bytes: '2750',
    },
  },
  {
    name: 'haproxy httplog with no server and an IPv6 client',
    format: 'haproxy',
    line:
      '2001:db8::1:51234 [06/Feb/2009:12:14:15.001] fe~ be/<NOSRV> 0/-1/-1/-1/0 503 212 - - ' +
      'SC-- 2/2/0/0/0 0/0 "GET /down HTTP/1.1"',
    expected: {
      severity: 'error',
      access: { method: 'GET', path: '/down', status: 503, requestTime: 0 },
    },
    attributes: { remote_addr: '2001:db8::1', server: '<NOSRV>', frontend: 'fe~' },
  },
  {
    name: 'syslog RFC 3164 with a priority gives facility and severity, and last year in January',
    format: 'syslog',
    line: "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick",
    expected: {
      ts: new Date(2023, 9, 11, 22, 14, 15).getTime(),
      severity: 'fatal',
      body: "'su root' failed for lonvick",
    },
    attributes: { hostname: 'mymachine', app_name: 'su', proc_id: '123', facility: 'auth' },
  },
  {
    name: 'syslog RFC 3164 as rsyslog writes it to a file (no priority)',
    format: 'syslog',
    line: 'Jan  5 10:00:00 web-1 nginx[99]: worker process 12 exited on signal 9',
    expected: {
      ts: new Date(2024, 0, 5, 10, 0, 0).getTime(),
      severity: 'info',
      body: 'worker process 12 exited on signal 9',
    },
    attributes: { hostname: 'web-1', app_name: 'nginx', proc_id: '99', facility: undefined },
  },
  {
    name: 'syslog with an RFC 3339 time and a level word in the message',
    format: 'syslog',
    line: '2024-01-05T10:00:00.123456+00:00 web-1 kernel: [ 12.3] ERROR: I/O error on sda',
    expected: { ts: Date.UTC(2024, 0, 5, 10, 0, 0, 123), severity: 'error' },
    attributes: { app_name: 'kernel', proc_id: undefined },
  },
  {
    name: 'syslog RFC 5424 with structured data',
    format: 'syslog',
    line:
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ' +
      '[exampleSDID@32473 iut="3" eventSource="Application"] An application event',
    expected: {
      ts: Date.UTC(2003, 9, 11, 22, 14, 15, 3),
      severity: 'info',
      body: 'An application event',
    },
    attributes: {
      hostname: 'mymachine.example.com',
      app_name: 'evntslog',
      proc_id: undefined,
      msg_id: 'ID47',
      facility: 'local4',
      structured_data: '[exampleSDID@32473 iut="3" eventSource="Application"]',
    },
  },
  {
    name: 'syslog RFC 5424 without structured data and with a BOM',
    format: 'syslog',
    line: '<11>1 2024-01-05T10:00:00Z host app 42 - - \uFEFFdisk full',
    expected: { severity: 'error', body: 'disk full' },
    attributes: { hostname: 'host', proc_id: '42', facility: 'user' },
  },
  {
    name: 'pino JSON: numeric level, time in ms, nested values kept as JSON',
    format: 'json',
    line: '{"level":50,"time":1704448800000,"pid":1,"hostname":"x","msg":"db down","err":{"type":"Error"}}',
    expected: { ts: 1704448800000, severity: 'error', body: 'db down' },
    attributes: { pid: '1', hostname: 'x', err: '{"type":"Error"}', level: undefined },
  },
  {
    name: 'zap JSON: level name, ts in seconds, trace_id',
    format: 'json',
    line: '{"level":"warn","ts":1704448800.5,"msg":"slow","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}',
    expected: {
      ts: 1704448800500,
      severity: 'warn',
      body: 'slow',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    },
    attributes: { trace_id: undefined },
  },
  {
    name: 'JSON with severity and message keys',
    format: 'json',
    line: '{"severity":"CRITICAL","message":"boom","time":"2024-01-05T10:00:00Z"}',
    expected: { severity: 'fatal', body: 'boom', ts: Date.UTC(2024, 0, 5, 10) },
  },
  {
    name: 'JSON with lvl and log keys',
    format: 'json',
    line: '{"lvl":"debug","log":"hello","traceId":"abc123"}',
    expected: { severity: 'debug', body: 'hello', traceId: 'abc123' },
  },
  {
    name: 'ECS JSON: log.level, @timestamp, trace.id; dotted keys become underscores',
    format: 'json',
    line: '{"@timestamp":"2024-01-05T10:00:00.000Z","log.level":"WARNING","message":"ecs","trace.id":"t1","http.status-code":200,"service":"shop"}',
    expected: { severity: 'warn', body: 'ecs', traceId: 't1', ts: Date.UTC(2024, 0, 5, 10) },
    attributes: { http_status_code: '200', service: undefined, log_service: 'shop' },
  },
  {
    name: 'JSON with the configured severity_field and message_field',
    format: 'json',
    line: '{"sev":"error","text":"custom","level":"info"}',
    options: { severityField: 'sev', messageField: 'text' },
    expected: { severity: 'error', body: 'custom' },
    attributes: { level: 'info' },
  },
  {
    name: 'a JSON source line that is not JSON becomes a plain record',
    format: 'json',
    line: 'FATAL: not json at all',
    expected: { severity: 'fatal', body: 'FATAL: not json at all' },
    attributes: { parse_failed: 'true' },
  },
  {
    name: 'plain: a leading ISO time and an upper-case level word',
    format: 'plain',
    line: '2024-01-05T10:00:00Z WARN disk at 90%',
    expected: {
      ts: Date.UTC(2024, 0, 5, 10),
      severity: 'warn',
      body: '2024-01-05T10:00:00Z WARN disk at 90%',
    },
  },
  {
    name: 'plain: an nginx error log line in local time',
    format: 'plain',
    line: '2024/01/05 10:00:00 [error] 12#0: *1 open() "/srv/x" failed',
    expected: { ts: new Date(2024, 0, 5, 10).getTime(), severity: 'error' },
  },
  {
    name: 'plain: prose with "error" in lower case stays info and has no time',
    format: 'plain',
    line: 'no error here, just text',
    expected: { ts: undefined, severity: 'info', body: 'no error here, just text' },
    attributes: { parse_failed: undefined },
  },
  {
    name: 'auto: a JSON line is read as JSON',
    format: 'auto',
    line: '{"level":"error","msg":"auto json"}',
    expected: { severity: 'error', body: 'auto json' },
  },
  {
    name: 'auto: an nginx line is read as an access line',
    format: 'auto',
    line: COMBINED,
    expected: { access: { method: 'GET', path: '/api/items?id=1', status: 200 } },
  },
];

describe('line parsers', () => {
  it.each(PARSER_CASES)('$name', ({ format, line, options, expected, attributes }) => {
    const parsed = parseLine(format, line, { ...OPTIONS, ...options });
    for (const [key, value] of Object.entries(expected)) {
      expect(parsed[key as keyof ParsedLine], key).toEqual(value);
    }
    for (const [key, value] of Object.entries(attributes ?? {})) {
      expect(parsed.attributes[key], `attributes.${key}`).toBe(value);
    }
    for (const key of Object.keys(parsed.attributes)) {
      expect(key).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      expect(['tier', 'host', 'service']).not.toContain(key);
    }
  });
});

// ---------------------------------------------------------------- access-log metrics

function sample(samples: RawSample[], name: string, labels: Record<string, string>) {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  expect(found[0]!.type).toBe('counter');
  return found[0]!.value;
}

const accessLine = (method: string, path: string, status: number, seconds: number) =>
  `10.0.0.1 - - [05/Jan/2024:10:00:00 +0000] "${method} ${path} HTTP/1.1" ${status} 10 "-" "t" ${seconds}`;

describe('access-log metrics', () => {
  it('counts requests by status class and method and fills the duration histogram', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning', format: 'nginx' });
    writeFileSync(
      path,
      lines(
        accessLine('GET', '/', 200, 0.004),
        accessLine('GET', '/a', 201, 0.03),
        accessLine('GET', '/b', 301, 0.2),
        accessLine('POST', '/c', 404, 0.7),
        accessLine('POST', '/d', 500, 3),
        accessLine('BREW', '/pot', 503, 12),
        'not an access line',
      ),
    );
    const source = make();
    await agent.collect(source);
    // The first collection shows every series at zero, so the agent has a baseline.
    expect(agent.samples.length).toBeGreaterThan(0);
    expect(agent.samples.every((s) => s.value === 0)).toBe(true);
    expect(agent.records.map((r) => r.severity)).toEqual([
      'info',
      'info',
      'info',
      'warn',
      'error',
      'error',
      'info',
    ]);
    await agent.collect(source);
    const s = agent.samples;
    const total = (statusClass: string, method: string) =>
      sample(s, 'http_requests_total', { status_class: statusClass, method });
    expect(total('2xx', 'GET')).toBe(2);
    expect(total('3xx', 'GET')).toBe(1);
    expect(total('4xx', 'POST')).toBe(1);
    expect(total('5xx', 'POST')).toBe(1);
    expect(total('5xx', 'OTHER')).toBe(1);
    expect(total('2xx', 'POST')).toBe(0);
    const bucket = (le: string) => sample(s, 'http_request_duration_seconds_bucket', { le });
    expect(
      ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'].map(
        bucket,
      ),
    ).toEqual([1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    expect(sample(s, 'http_request_duration_seconds_count', {})).toBe(6);
    expect(sample(s, 'http_request_duration_seconds_sum', {})).toBeCloseTo(15.934, 6);
    for (const one of s) expect(Object.keys(one.labels)).not.toContain('service');
    appendFileSync(path, lines(accessLine('GET', '/', 200, 0.001)));
    await agent.collect(source);
    expect(
      sample(agent.samples, 'http_requests_total', { status_class: '2xx', method: 'GET' }),
    ).toBe(3);
    await source.close!();
  });

  it('adds a route label from path prefixes, the longest first', async () => {
    const { path, agent, make } = setup({
      start_at: 'beginning',
      format: 'nginx',
      access_log: { route_label: ['/api/', '/api/admin/'], buckets: [0.1, 1] },
    });
    writeFileSync(
      path,
      lines(
        accessLine('GET', '/api/items?x=1', 200, 0.05),
        accessLine('GET', '/api/admin/users', 200, 0.5),
        accessLine('GET', '/home', 200, 2),
      ),
    );
    const source = make();
    await agent.collect(source);
    await agent.collect(source);
    const s = agent.samples;
    for (const route of ['/api/', '/api/admin/', 'other']) {
      expect(sample(s, 'http_requests_total', { status_class: '2xx', method: 'GET', route })).toBe(
        1,
      );
    }
    expect(sample(s, 'http_request_duration_seconds_bucket', { route: '/api/', le: '0.1' })).toBe(
      1,
    );
    expect(sample(s, 'http_request_duration_seconds_bucket', { route: 'other', le: '1' })).toBe(0);
    expect(sample(s, 'http_request_duration_seconds_bucket', { route: 'other', le: '+Inf' })).toBe(
      1,
    );
    await source.close!();
  });

  it('emits no metrics for formats that are not access logs', async () => {
    const { path, agent, make } = setup({ start_at: 'beginning', format: 'json' });
    writeFileSync(path, lines('{"msg":"x"}'));
    const source = make();
    await agent.collect(source);
    await agent.collect(source);
    expect(agent.samples).toEqual([]);
    await source.close!();
  });
});

// ---------------------------------------------------------------- options

describe('options', () => {
  it.each([
    { name: 'a relative path is refused', input: { paths: ['logs/*.log'] }, error: 'absolute' },
    { name: 'an empty path list is refused', input: { paths: [] }, error: 'at least one' },
    {
      name: 'an invalid start_pattern is refused',
      input: { paths: ['/x'], multiline: { start_pattern: '(' } },
      error: 'valid regular expression',
    },
    {
      name: 'an unknown format is refused',
      input: { paths: ['/x'], format: 'xml' },
      error: 'one of',
    },
    { name: 'an unknown key is refused', input: { paths: ['/x'], tail: true }, error: 'tail' },
    {
      name: 'buckets out of order are refused',
      input: { paths: ['/x'], access_log: { buckets: [1, 0.5] } },
      error: 'increasing',
    },
  ])('$name', ({ input, error }) => {
    const result = logsOptions.safeParse(input);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(error);
  });

  it('fills the documented defaults', () => {
    const options = logsOptions.parse({ paths: ['/var/log/app/*.log'] });
    expect(options.format).toBe('plain');
    expect(options.start_at).toBe('end');
    expect(options.max_line_bytes.bytes).toBe(64 * 1024);
    expect(options.max_read_bytes.bytes).toBe(4 * 1024 * 1024);
    expect(options.rotate_wait.ms).toBe(5000);
    expect(options.access_log.buckets).toEqual([
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]);
    expect(
      logsOptions.parse({ paths: ['/x'], multiline: { start_pattern: '^\\S' } }).multiline,
    ).toMatchObject({ max_lines: 500, timeout: { ms: 2000 } });
  });
});

// ---------------------------------------------------------------- a real nginx

describe('a real nginx', () => {
  it('sees exactly the requests sent, with their status classes and durations', async () => {
    const { dir, port } = await startNginx({
      http: () => `  access_log off;
  ${NGINX_TIMED_FORMAT}
  log_format jsonl escape=json '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",'
                   '"request":"$request","status":$status,"request_time":$request_time}';`,
      server: (prefix) => `    access_log ${prefix}/access.log timed;
    access_log ${prefix}/access.json.log jsonl;
    location = /ok { return 200 "ok"; }
    location = /missing { return 404; }
    location = /boom { return 503; }`,
    });
    const access = join(dir, 'access.log');
    const accessJson = join(dir, 'access.json.log');
    const agent = new FakeAgent();
    const source = createSource(agent, join(dir, 'state'), {
      paths: [access],
      format: 'nginx',
      start_at: 'beginning',
    });
    const jsonAgent = new FakeAgent();
    const jsonSource = createSource(jsonAgent, join(dir, 'state-json'), {
      paths: [accessJson],
      format: 'nginx_json',
      start_at: 'beginning',
    });
    await agent.collect(source);
    await jsonAgent.collect(jsonSource);
    const sent = [
      ['GET', '/ok'],
      ['GET', '/ok'],
      ['GET', '/ok'],
      ['GET', '/missing'],
      ['POST', '/missing'],
      ['POST', '/boom'],
    ] as const;
    for (const [method, path] of sent) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
      await response.arrayBuffer();
    }
    const deadline = Date.now() + 10_000;
    while (
      (agent.records.length < sent.length || jsonAgent.records.length < sent.length) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
      await agent.collect(source);
      await jsonAgent.collect(jsonSource);
    }
    await agent.collect(source);
    await jsonAgent.collect(jsonSource);
    for (const a of [agent, jsonAgent]) {
      expect(
        a.records.map(
          (r) => `${r.attributes['method']} ${r.attributes['path']} ${r.attributes['status']}`,
        ),
      ).toEqual(
        sent.map(([m, p]) => `${m} ${p} ${{ '/ok': 200, '/missing': 404, '/boom': 503 }[p]}`),
      );
      expect(a.records.every((r) => /^\d+(\.\d+)?$/.test(r.attributes['request_time'] ?? ''))).toBe(
        true,
      );
      expect(a.records.every((r) => Math.abs(r.ts - Date.now()) < 60_000)).toBe(true);
      const total = (statusClass: string, method: string) =>
        sample(a.samples, 'http_requests_total', { status_class: statusClass, method });
      expect([
        total('2xx', 'GET'),
        total('4xx', 'GET'),
        total('4xx', 'POST'),
        total('5xx', 'POST'),
      ]).toEqual([3, 1, 1, 1]);
      expect(sample(a.samples, 'http_request_duration_seconds_count', {})).toBe(6);
    }
    await source.close!();
    await jsonSource.close!();
  });
});
