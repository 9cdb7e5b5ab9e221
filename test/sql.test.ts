// Bound SQL and the config's units: pure functions, table-driven.

import { describe, expect, it } from 'vitest';
import { ident, join, param, sql } from '../core/store/sql.ts';
import { formatDuration, parseByteSize, parseDuration } from '../core/units.ts';
import { metricsSubject, subjectToken } from '../core/conventions.ts';

describe('sql``', () => {
  it('binds every value as a typed parameter', () => {
    const q = sql`SELECT 1 FROM t WHERE a = ${'x'} AND b = ${3} AND c = ${2.5} AND d = ${true} AND e IN ${['p', 'q']} AND f > ${new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))}`;
    expect(q.text).toBe(
      "SELECT 1 FROM t WHERE a = {p0:String} AND b = {p1:Int64} AND c = {p2:Float64} AND d = {p3:Bool} AND e IN {p4:Array(String)} AND f > {p5:DateTime64(3, 'UTC')}",
    );
    expect(q.params).toEqual({
      p0: 'x',
      p1: 3,
      p2: 2.5,
      p3: true,
      p4: ['p', 'q'],
      p5: '2026-01-02 03:04:05.006',
    });
  });

  it('splices nested fragments and renames their parameters without collisions', () => {
    const a = sql`x = ${'1'} AND y = ${'2'}`;
    const b = sql`z = ${'3'}`;
    const q = sql`SELECT ${param(7, 'UInt8')} WHERE ${join([a, b], ' AND ')}`;
    expect(q.text).toBe(
      'SELECT {p0:UInt8} WHERE x = {p1:String} AND y = {p2:String} AND z = {p3:String}',
    );
    expect(q.params).toEqual({ p0: 7, p1: '1', p2: '2', p3: '3' });
  });

  it('inlines only checked identifiers', () => {
    expect(sql`SELECT * FROM ${ident('halo.samples')}`.text).toBe('SELECT * FROM halo.samples');
    expect(() => ident('samples; DROP TABLE x')).toThrow('not a valid identifier');
    expect(() => sql`SELECT ${null}`).toThrow('cannot bind a value of type null');
  });
});

describe('durations and sizes', () => {
  it.each([
    ['30s', 30_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['250ms', 250],
    ['0', 0],
    ['1m1h', undefined],
    ['5q', undefined],
    ['', undefined],
    ['-1s', undefined],
  ])('parseDuration(%j) is %j', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('prints the shortest duration', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_061_001)).toBe('1d1h1m1s1ms');
  });

  it.each([
    ['1GiB', 2 ** 30],
    ['512MiB', 512 * 2 ** 20],
    ['1GB', 1e9],
    ['100', 100],
    ['1.5KiB', 1536],
    ['lots', undefined],
  ])('parseByteSize(%j) is %j', (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });
});

describe('subjects', () => {
  it('turns host names with dots and wildcards into single tokens', () => {
    expect(metricsSubject('web', 'web-1.example.com')).toBe('halo.metrics.web.web-1_example_com');
    expect(subjectToken('a*b>c d')).toBe('a_b_c_d');
    expect(subjectToken('')).toBe('_');
  });
});
