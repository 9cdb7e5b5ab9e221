// The Prometheus / OpenMetrics text parser and metric relabeling, table-driven.

import { describe, expect, it } from 'vitest';
import { MAX_LINE_LENGTH, parsePromText, type PromSample } from '../collector/agent/prom-text.ts';
import {
  applyRelabel,
  compileRelabelRules,
  relabelRule,
  type Relabelable,
} from '../collector/agent/relabel.ts';

type Expected = Partial<PromSample>;

interface Case {
  name: string;
  text: string;
  openMetrics?: boolean;
  samples: Expected[];
  skipped?: number;
  firstBad?: { line: number; reason: RegExp };
}

const cases: Case[] = [
  {
    name: 'a counter with HELP and TYPE is read with its family and type',
    text: [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027',
      'http_requests_total{method="post",code="400"}    3',
    ].join('\n'),
    samples: [
      {
        name: 'http_requests_total',
        labels: { method: 'post', code: '200' },
        value: 1027,
        ts: undefined,
        type: 'counter',
        family: 'http_requests_total',
      },
      { labels: { method: 'post', code: '400' }, value: 3, type: 'counter' },
    ],
  },
  {
    name: 'metric names may hold colons, as recording rules write them',
    text: 'job:http_requests:rate5m{job="api"} 12.5\n:leading_colon 1\n',
    samples: [
      { name: 'job:http_requests:rate5m', labels: { job: 'api' }, value: 12.5 },
      { name: ':leading_colon', value: 1 },
    ],
  },
  {
    name: 'an empty label set {} is no labels',
    text: 'up{} 1\n',
    samples: [{ name: 'up', labels: {}, value: 1 }],
  },
  {
    name: 'a trailing comma in a label set is accepted',
    text: 'a{x="1",} 1\nb{x="1", y="2" , } 2\n',
    samples: [
      { name: 'a', labels: { x: '1' } },
      { name: 'b', labels: { x: '1', y: '2' } },
    ],
  },
  {
    name: 'blanks around label names, = and values, and tabs between fields are accepted',
    text: 'a{ x = "1" ,\ty="2"}\t3\t1000\n  b 4\n',
    samples: [
      { name: 'a', labels: { x: '1', y: '2' }, value: 3, ts: 1000 },
      { name: 'b', value: 4 },
    ],
  },
  {
    name: 'label values unescape \\\\, \\" and \\n',
    text: String.raw`a{path="C:\\dir\\file",quote="say \"hi\"",multi="one\ntwo"} 1` + '\n',
    samples: [{ labels: { path: 'C:\\dir\\file', quote: 'say "hi"', multi: 'one\ntwo' } }],
  },
  {
    name: 'an unknown escape in a label value is kept as written, as Prometheus does',
    text: String.raw`a{x="tab\there",y="end\\"} 1` + '\n',
    samples: [{ labels: { x: 'tab\\there', y: 'end\\' } }],
  },
  {
    name: 'braces, commas, = and # inside label values are text',
    text: 'a{x="}",y=",",z="a=b",w="# {not} an exemplar"} 1\n',
    samples: [{ labels: { x: '}', y: ',', z: 'a=b', w: '# {not} an exemplar' }, value: 1 }],
  },
  {
    name: 'unicode in label values is kept, astral characters included',
    text: 'a{city="Zürich",jp="東京",emoji="🚀 launch"} 1\n',
    samples: [{ labels: { city: 'Zürich', jp: '東京', emoji: '🚀 launch' } }],
  },
  {
    name: 'a label with an empty value is the same as no label',
    text: 'a{x="",y="1"} 1\n',
    samples: [{ labels: { y: '1' } }],
  },
  {
    name: 'a label named __proto__ is an ordinary label',
    text: 'a{__proto__="p",constructor="c"} 1\n',
    samples: [
      { labels: JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, string> },
    ],
  },
  {
    name: 'a histogram gives buckets with le, _sum and _count in its family',
    text: [
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
    ].join('\n'),
    samples: [
      {
        name: 'http_request_duration_seconds_bucket',
        labels: { le: '0.05' },
        value: 24054,
        type: 'histogram',
        family: 'http_request_duration_seconds',
      },
      { name: 'http_request_duration_seconds_bucket', labels: { le: '+Inf' }, value: 144320 },
      { name: 'http_request_duration_seconds_sum', value: 53423, type: 'histogram' },
      { name: 'http_request_duration_seconds_count', value: 144320, type: 'histogram' },
    ],
  },
  {
    name: 'a summary gives quantiles named as the family, then _sum and _count',
    text: [
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds{quantile="0.99"} 76656',
      'rpc_duration_seconds_sum 1.7560473e+07',
      'rpc_duration_seconds_count 2693',
    ].join('\n'),
    samples: [
      { name: 'rpc_duration_seconds', labels: { quantile: '0.5' }, type: 'summary' },
      { name: 'rpc_duration_seconds', labels: { quantile: '0.99' }, value: 76656 },
      { name: 'rpc_duration_seconds_sum', value: 17560473, family: 'rpc_duration_seconds' },
      { name: 'rpc_duration_seconds_count', value: 2693, type: 'summary' },
    ],
  },
  {
    name: 'an OpenMetrics counter family has no _total, its samples do; _created is dropped',
    text: [
      '# TYPE acme_http_router_request counter',
      '# UNIT acme_http_router_request requests',
      '# HELP acme_http_router_request Total number of requests.',
      'acme_http_router_request_total{path="/api"} 1',
      'acme_http_router_request_created{path="/api"} 1520430000.123',
      '# EOF',
    ].join('\n'),
    samples: [
      {
        name: 'acme_http_router_request_total',
        labels: { path: '/api' },
        type: 'counter',
        family: 'acme_http_router_request',
      },
    ],
  },
  {
    name: 'OpenMetrics histogram and summary _created samples are dropped',
    text: [
      '# TYPE h histogram',
      'h_bucket{le="1"} 0',
      'h_bucket{le="+Inf"} 2',
      'h_sum 3',
      'h_count 2',
      'h_created 1520430000',
      '# TYPE s summary',
      's_sum 1',
      's_count 1',
      's_created 1520430000',
      '# EOF',
    ].join('\n'),
    samples: [
      { name: 'h_bucket' },
      { name: 'h_bucket' },
      { name: 'h_sum' },
      { name: 'h_count' },
      { name: 's_sum' },
      { name: 's_count' },
    ],
  },
  {
    name: 'a gaugehistogram gives _bucket, _gsum and _gcount',
    text: [
      '# TYPE queue_size gaugehistogram',
      'queue_size_bucket{le="10"} 3',
      'queue_size_bucket{le="+Inf"} 5',
      'queue_size_gsum 32',
      'queue_size_gcount 5',
      '# EOF',
    ].join('\n'),
    samples: [
      { name: 'queue_size_bucket', type: 'gaugehistogram', family: 'queue_size' },
      { name: 'queue_size_bucket', labels: { le: '+Inf' } },
      { name: 'queue_size_gsum', value: 32, type: 'gaugehistogram' },
      { name: 'queue_size_gcount', value: 5, type: 'gaugehistogram' },
    ],
  },
  {
    name: 'info and stateset families are read (OpenMetrics)',
    text: [
      '# TYPE build info',
      'build_info{version="1.2"} 1',
      '# TYPE feature stateset',
      'feature{feature="a"} 1',
      'feature{feature="b"} 0',
      '# EOF',
    ].join('\n'),
    samples: [
      { name: 'build_info', type: 'info', family: 'build' },
      { name: 'feature', labels: { feature: 'a' }, type: 'stateset' },
      { name: 'feature', labels: { feature: 'b' }, value: 0, type: 'stateset' },
    ],
  },
  {
    name: 'a sample without TYPE is untyped in Prometheus text and unknown in OpenMetrics',
    text: 'plain 1\n# TYPE typed untyped\ntyped 2\n',
    samples: [
      { name: 'plain', type: 'untyped', family: 'plain' },
      { name: 'typed', type: 'untyped', family: 'typed' },
    ],
  },
  {
    name: 'an OpenMetrics sample without TYPE is of type unknown',
    text: 'plain 1\n# TYPE other unknown\nother 2\n# EOF\n',
    samples: [
      { name: 'plain', type: 'unknown' },
      { name: 'other', type: 'unknown' },
    ],
  },
  {
    name: 'a sample that is not of the current family starts its own untyped family',
    text: '# TYPE a_total counter\na_total 1\nb 2\na_total_bucket 3\n',
    samples: [
      { name: 'a_total', type: 'counter' },
      { name: 'b', type: 'untyped', family: 'b' },
      { name: 'a_total_bucket', type: 'untyped', family: 'a_total_bucket' },
    ],
  },
  {
    name: 'special and scientific values are read',
    text: [
      'v{k="nan"} NaN',
      'v{k="pinf"} +Inf',
      'v{k="ninf"} -Inf',
      'v{k="inf"} Inf',
      'v{k="lower"} inf',
      'v{k="sci"} 1.5e+3',
      'v{k="sci_neg"} -2.5E-3',
      'v{k="neg_zero"} -0',
      'v{k="big"} 1.7976931348623157e308',
      'v{k="long"} 0.12345678901234567890',
      'v{k="dot"} .5',
      'v{k="plus"} +7',
    ].join('\n'),
    samples: [
      { value: NaN },
      { value: Infinity },
      { value: -Infinity },
      { value: Infinity },
      { value: Infinity },
      { value: 1500 },
      { value: -0.0025 },
      { value: -0 },
      { value: 1.7976931348623157e308 },
      { value: 0.12345678901234568 },
      { value: 0.5 },
      { value: 7 },
    ],
  },
  {
    name: 'Prometheus text timestamps are integer milliseconds, negative ones included',
    text: 'a 1 1395066363000\nb 2 -1000\n',
    samples: [
      { name: 'a', ts: 1395066363000 },
      { name: 'b', ts: -1000 },
    ],
  },
  {
    name: 'OpenMetrics timestamps are float seconds, given in milliseconds',
    text: 'a 1 1520879607.789\nb 2 1520879607\n# EOF\n',
    samples: [
      { name: 'a', ts: 1520879607789 },
      { name: 'b', ts: 1520879607000 },
    ],
  },
  {
    name: 'OpenMetrics is assumed when told so, even without # EOF (a truncated body)',
    text: 'a 1 1.5\n',
    openMetrics: true,
    samples: [{ name: 'a', ts: 1500 }],
  },
  {
    name: 'exemplars after the value or the timestamp are ignored',
    text: [
      '# TYPE foo histogram',
      'foo_bucket{le="0.1"} 8 # {trace_id="KOO5S4vxi0o"} 0.067 1520879607.789',
      'foo_bucket{le="+Inf"} 17 1520879607.789 # {id="a b}"} 2',
      'foo_count 17',
      '# EOF',
    ].join('\n'),
    samples: [
      { labels: { le: '0.1' }, value: 8, ts: undefined },
      { labels: { le: '+Inf' }, value: 17, ts: 1520879607789 },
      { name: 'foo_count', value: 17 },
    ],
  },
  {
    name: 'nothing after # EOF is read',
    text: 'a 1\n# EOF\nb 2\n# EOF\n',
    samples: [{ name: 'a' }],
  },
  {
    name: 'CRLF line endings and blank lines are accepted',
    text: 'a{x="1"} 1\r\n\r\n   \r\nb 2\r\n',
    samples: [
      { name: 'a', labels: { x: '1' } },
      { name: 'b', value: 2 },
    ],
  },
  {
    name: 'other comments, with or without a space, are ignored',
    text: '# just a note\n#TYPE a gauge\n# HELP a help with "quotes" and \\n\na 1\n',
    samples: [{ name: 'a', type: 'untyped' }],
  },
  {
    name: 'a HELP before TYPE and a TYPE for a family without samples are fine',
    text: '# HELP a A.\n# TYPE a gauge\n# TYPE empty counter\n# TYPE b gauge\nb 1\n',
    samples: [{ name: 'b', type: 'gauge' }],
  },
];

const bad: { name: string; line: string; reason: RegExp }[] = [
  { name: 'an unterminated label value', line: 'a{x="1} 1', reason: /unterminated value/ },
  { name: 'an unterminated label set', line: 'a{x="1"', reason: /unterminated label set/ },
  { name: 'a label value without quotes', line: 'a{x=1} 1', reason: /quoted value/ },
  { name: 'a label without =', line: 'a{x "1"} 1', reason: /expected =/ },
  { name: 'a label name that starts with a digit', line: 'a{1x="1"} 1', reason: /label name/ },
  { name: 'a missing comma between labels', line: 'a{x="1" y="2"} 1', reason: /, or }/ },
  { name: 'a duplicate label', line: 'a{x="1",x="2"} 1', reason: /duplicate label x/ },
  { name: 'a __name__ label', line: 'a{__name__="b"} 1', reason: /__name__/ },
  { name: 'a name alone', line: 'a', reason: /expected a value/ },
  { name: 'labels without a value', line: 'a{x="1"}', reason: /expected a value/ },
  { name: 'a value that is not a number', line: 'a abc', reason: /number/ },
  { name: 'a value of a sign alone', line: 'a -', reason: /number/ },
  { name: 'a value named like a prototype property', line: 'a __proto__', reason: /number/ },
  { name: 'a float timestamp in Prometheus text', line: 'a 1 1.5', reason: /integer/ },
  { name: 'a timestamp with an exponent', line: 'a 1 1e3', reason: /integer/ },
  { name: 'text after the timestamp', line: 'a 1 2 3', reason: /unexpected text/ },
  { name: 'a name that starts with a digit', line: '1a 1', reason: /metric name/ },
  { name: 'labels before a name', line: '{x="1"} 1', reason: /metric name/ },
  { name: 'a character glued to the name', line: 'a-b 1', reason: /after the metric name/ },
  { name: 'an unknown TYPE', line: '# TYPE a bogus', reason: /unknown metric type "bogus"/ },
  { name: 'a TYPE without a name', line: '# TYPE', reason: /metric name/ },
  { name: 'binary bytes', line: '\u0000\u0001\u0002\ufffd\ufffd', reason: /metric name/ },
];

/** The parts of each sample a case names, so that a case states only what it is about. */
function pick(samples: PromSample[], expected: Expected[]): Expected[] {
  return samples.map((sample, i) => {
    const keys = Object.keys(expected[i] ?? {}) as (keyof PromSample)[];
    return Object.fromEntries(keys.map((key) => [key, sample[key]]));
  });
}

describe('the Prometheus text parser', () => {
  it.each(cases)('$name', ({ text, openMetrics, samples, skipped }) => {
    const result = parsePromText(text, openMetrics === undefined ? {} : { openMetrics });
    expect(result.samples.length).toBe(samples.length);
    expect(pick(result.samples, samples)).toEqual(samples);
    expect(result.skipped).toBe(skipped ?? 0);
    expect(result.sampleCount).toBe(samples.length);
  });

  it.each(bad)('skips and counts a line with $name', ({ line, reason }) => {
    const result = parsePromText(`good 1\n${line}\nalso_good{x="y"} 2\n`);
    expect(result.samples.map((s) => s.name)).toEqual(['good', 'also_good']);
    expect(result.skipped).toBe(1);
    expect(result.firstBad?.line).toBe(2);
    expect(result.firstBad?.reason).toMatch(reason);
  });

  it('reports the first bad line and counts all of them', () => {
    const result = parsePromText('a 1\n\n# c\nb{ 1\nc 2\nd x\n');
    expect(result.skipped).toBe(2);
    expect(result.firstBad).toEqual({ line: 4, reason: expect.stringMatching(/label/) });
    expect(result.samples.map((s) => s.name)).toEqual(['a', 'c']);
  });

  it('skips a line of 100 KiB without reading it, and reads the next', () => {
    const huge = `big{x="${'y'.repeat(100 * 1024)}"} 1`;
    const result = parsePromText(`a 1\n${huge}\nb 2\n`);
    expect(result.samples.map((s) => s.name)).toEqual(['a', 'b']);
    expect(result.firstBad).toEqual({ line: 2, reason: 'line longer than 64 KiB' });
  });

  it('reads a line just under the limit', () => {
    const value = 'v'.repeat(MAX_LINE_LENGTH - 20);
    const result = parsePromText(`big{x="${value}"} 1\n`);
    expect(result.skipped).toBe(0);
    expect(result.samples[0]?.labels.x).toBe(value);
  });

  it('skips half a line at the end of a cut-off body', () => {
    const result = parsePromText('a{x="1"} 1\nb{x="1"} 2\nc{x="1');
    expect(result.samples.map((s) => s.name)).toEqual(['a', 'b']);
    expect(result.skipped).toBe(1);
    expect(result.firstBad?.line).toBe(3);
  });

  it('survives random binary garbage and a 10 MB line without newlines', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const bytes = Buffer.alloc(1 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    const garbage = bytes.toString('utf8');
    const started = performance.now();
    const result = parsePromText(garbage);
    expect(result.skipped).toBeGreaterThan(1000);
    expect(result.sampleCount).toBe(result.samples.length);
    const line = parsePromText('x'.repeat(10_000_000));
    expect(line.skipped).toBe(1);
    expect(line.samples).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('reads numbers exactly as Number() does, whatever their form', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const texts: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      texts.push(
        String(x),
        x.toFixed(Math.floor(random() * 10)),
        x.toExponential(Math.floor(random() * 16)),
        x.toPrecision(1 + Math.floor(random() * 20)),
        String(Math.floor(x * 1e6)),
      );
    }
    const body = texts.map((t, i) => `n{i="${i}"} ${t}`).join('\n');
    const result = parsePromText(body);
    expect(result.skipped).toBe(0);
    const wrong = result.samples.filter((s, i) => !Object.is(s.value, Number(texts[i])));
    expect(wrong).toEqual([]);
  });

  it('gives each sample its own labels object, even when the values repeat', () => {
    const result = parsePromText('a{x="1"} 1\na{x="1"} 2\n');
    const [first, second] = result.samples;
    expect(first?.labels).toEqual(second?.labels);
    expect(first?.labels).not.toBe(second?.labels);
    first!.labels.x = 'changed';
    expect(second?.labels.x).toBe('1');
  });
});

interface RelabelCase {
  name: string;
  rules: unknown[];
  input: Relabelable;
  output: Relabelable | undefined;
}

const foo: Relabelable = { name: 'm', labels: { a: 'foo', b: 'bar', c: 'baz' } };

const relabelCases: RelabelCase[] = [
  {
    name: 'replace writes groups of the match into the target label',
    rules: [
      { source_labels: ['a'], regex: 'f(.*)', target_label: 'd', replacement: 'ch${1}-ch$1' },
    ],
    input: foo,
    output: { name: 'm', labels: { a: 'foo', b: 'bar', c: 'baz', d: 'choo-choo' } },
  },
  {
    name: 'replace joins several source labels with the separator',
    rules: [
      {
        source_labels: ['a', 'b'],
        separator: '|',
        regex: 'f(.*)\\|(.*)r',
        target_label: 'a',
        replacement: 'b${1}${2}m',
      },
    ],
    input: foo,
    output: { name: 'm', labels: { a: 'boobam', b: 'bar', c: 'baz' } },
  },
  {
    name: 'replace with the defaults copies a label',
    rules: [{ source_labels: ['c'], target_label: 'copy' }],
    input: foo,
    output: { name: 'm', labels: { a: 'foo', b: 'bar', c: 'baz', copy: 'baz' } },
  },
  {
    name: 'replace does nothing when the regex does not match the whole value',
    rules: [{ source_labels: ['a'], regex: 'f', target_label: 'x', replacement: 'y' }],
    input: foo,
    output: foo,
  },
  {
    name: 'replace with an empty result deletes the target label',
    rules: [{ source_labels: ['missing'], target_label: 'a' }],
    input: foo,
    output: { name: 'm', labels: { b: 'bar', c: 'baz' } },
  },
  {
    name: 'replace reads $1x as the group named 1x, as Go does, so it expands to nothing',
    rules: [
      { source_labels: ['a'], regex: '(f)oo', target_label: 'd', replacement: '$1x-${1}x-$$' },
    ],
    input: foo,
    output: { name: 'm', labels: { a: 'foo', b: 'bar', c: 'baz', d: '-fx-$' } },
  },
  {
    name: 'replace reads named groups written (?P<name>…) as in RE2',
    rules: [
      {
        source_labels: ['a'],
        regex: '(?P<first>.)(?P<rest>.*)',
        target_label: 'd',
        replacement: '$rest.${first}',
      },
    ],
    input: foo,
    output: { name: 'm', labels: { a: 'foo', b: 'bar', c: 'baz', d: 'oo.f' } },
  },
  {
    name: 'replace may compute the target label name from groups',
    rules: [
      {
        source_labels: ['v'],
        regex: 'some-([^-]+)-([^,]+)',
        target_label: '${1}',
        replacement: '${2}',
      },
    ],
    input: { name: 'm', labels: { v: 'some-name-value' } },
    output: { name: 'm', labels: { v: 'some-name-value', name: 'value' } },
  },
  {
    name: 'replace on __name__ renames the metric',
    rules: [
      {
        source_labels: ['__name__'],
        regex: 'node_(.*)',
        target_label: '__name__',
        replacement: 'host_$1',
      },
    ],
    input: { name: 'node_load1', labels: {} },
    output: { name: 'host_load1', labels: {} },
  },
  {
    name: 'a regex matches label values across newlines, as (?s) in Prometheus',
    rules: [{ source_labels: ['a'], regex: 'one.two', action: 'keep' }],
    input: { name: 'm', labels: { a: 'one\ntwo' } },
    output: { name: 'm', labels: { a: 'one\ntwo' } },
  },
  {
    name: 'a leading (?i) makes the regex case-insensitive',
    rules: [{ source_labels: ['a'], regex: '(?i)FOO', action: 'keep' }],
    input: foo,
    output: foo,
  },
  {
    name: 'keep drops a sample whose value does not match',
    rules: [{ source_labels: ['a'], regex: 'no-match', action: 'keep' }],
    input: foo,
    output: undefined,
  },
  {
    name: 'keep passes a sample whose value matches the whole regex',
    rules: [{ source_labels: ['a'], regex: 'f.*', action: 'keep' }],
    input: foo,
    output: foo,
  },
  {
    name: 'drop drops a sample whose value matches',
    rules: [{ source_labels: ['__name__'], regex: 'm|n', action: 'drop' }],
    input: foo,
    output: undefined,
  },
  {
    name: 'drop keeps a sample whose value matches only in part (regexes are anchored)',
    rules: [{ source_labels: ['a'], regex: 'f|o', action: 'drop' }],
    input: foo,
    output: foo,
  },
  {
    name: 'labeldrop removes the labels whose names match',
    rules: [{ regex: 'b|c', action: 'labeldrop' }],
    input: foo,
    output: { name: 'm', labels: { a: 'foo' } },
  },
  {
    name: 'labelkeep removes the labels whose names do not match, but never the name',
    rules: [{ regex: '(b.*)', action: 'labelkeep' }],
    input: { name: 'm', labels: { a: 'foo', b1: 'bar', b2: 'baz' } },
    output: { name: 'm', labels: { b1: 'bar', b2: 'baz' } },
  },
  {
    name: 'labelmap copies labels whose names match under the replaced name',
    rules: [{ regex: 'meta_(.*)', action: 'labelmap' }],
    input: { name: 'm', labels: { a: 'foo', meta_zone: 'eu', meta_rack: 'r1' } },
    output: {
      name: 'm',
      labels: { a: 'foo', meta_zone: 'eu', meta_rack: 'r1', zone: 'eu', rack: 'r1' },
    },
  },
  {
    name: 'hashmod writes the md5-based shard Prometheus computes',
    rules: [
      { source_labels: ['c'], target_label: 'd', modulus: 1000, action: 'hashmod' },
      { source_labels: ['n'], target_label: 'e', modulus: 1000, action: 'hashmod' },
    ],
    input: { name: 'm', labels: { c: 'baz', n: 'foo\nbar' } },
    output: { name: 'm', labels: { c: 'baz', n: 'foo\nbar', d: '976', e: '734' } },
  },
  {
    name: 'rules apply in order, a drop ending the chain',
    rules: [
      { source_labels: ['a'], target_label: 'x', replacement: 'set' },
      { source_labels: ['x'], regex: 'set', action: 'drop' },
      { source_labels: ['a'], target_label: 'never', replacement: 'reached' },
    ],
    input: foo,
    output: undefined,
  },
  {
    name: 'a sample whose name is replaced by nothing is dropped',
    rules: [{ source_labels: ['missing'], target_label: '__name__' }],
    input: foo,
    output: undefined,
  },
];

describe('metric relabeling', () => {
  it.each(relabelCases)('$name', ({ rules, input, output }) => {
    const compiled = compileRelabelRules(rules.map((rule) => relabelRule.parse(rule)));
    const before = structuredClone(input);
    expect(applyRelabel(input, compiled)).toEqual(output);
    expect(input).toEqual(before);
  });

  it('returns the same sample when there are no rules', () => {
    expect(applyRelabel(foo, compileRelabelRules([]))).toBe(foo);
  });

  const invalid: { name: string; rule: unknown; message: RegExp }[] = [
    {
      name: 'replace without a target_label',
      rule: { source_labels: ['a'] },
      message: /target_label/,
    },
    { name: 'an invalid target_label', rule: { target_label: '-x' }, message: /label name/ },
    {
      name: 'hashmod without a modulus',
      rule: { action: 'hashmod', target_label: 'x' },
      message: /modulus/,
    },
    {
      name: 'labeldrop with source_labels',
      rule: { action: 'labeldrop', source_labels: ['a'] },
      message: /only regex/,
    },
    {
      name: 'an unknown action',
      rule: { action: 'explode' },
      message: /expected one of replace, keep/,
    },
    {
      name: 'a regex that does not compile',
      rule: { action: 'keep', regex: '(' },
      message: /regular expression/,
    },
    { name: 'an unknown key', rule: { action: 'keep', regexp: 'x' }, message: /regexp/ },
  ];

  it.each(invalid)('refuses a rule with $name', ({ rule, message }) => {
    const result = relabelRule.safeParse(rule);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });

  it('fills Prometheus defaults', () => {
    expect(relabelRule.parse({ target_label: 'x' })).toEqual({
      source_labels: [],
      separator: ';',
      regex: '(.*)',
      target_label: 'x',
      replacement: '$1',
      action: 'replace',
    });
  });
});
