// OTLP logs (POST /v1/logs, protobuf or JSON) into intake log records: timestamp, severity from
// the number or else the text, body as text, attributes flattened to strings, trace id as hex.

import { severityFromName } from '../agent/log-parsers.ts';
import type { Severity } from '../../core/conventions.ts';
import { decodeOtlpRequest, type OtlpEncoding, type Plain } from './otlp-proto.ts';
import {
  anyToString,
  asPlain,
  keyValues,
  list,
  MAX_DEPTH,
  msAt,
  resourceAttributes,
  stringAt,
} from './otlp-plain.ts';
import { IntakeError, type IntakeLogRecord } from './types.ts';

export interface OtlpLogsResult {
  records: IntakeLogRecord[];
  /** Log records refused one by one (no timestamp): partial success. */
  rejected: number;
  /** Why the first of them was refused, with its path. */
  firstRejected?: string;
}

/** SeverityNumber 1–24 in fours: TRACE, DEBUG, INFO, WARN, ERROR, FATAL. */
const BY_NUMBER: readonly Severity[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function severityOf(number: number, text: string | undefined): Severity {
  if (number >= 1 && number <= 24) return BY_NUMBER[Math.floor((number - 1) / 4)]!;
  // Unspecified: the text, if it names a severity (as the agent reads log levels).
  return severityFromName(text ?? '') ?? 'info';
}

/**
 * Decodes an ExportLogsServiceRequest. Throws IntakeError(400) naming the first malformed field;
 * counts the records without any timestamp as rejected.
 */
export function decodeOtlpLogs(body: Uint8Array, encoding: OtlpEncoding): OtlpLogsResult {
  const request = decodeOtlpRequest('logs', body, encoding);
  const result: OtlpLogsResult = { records: [], rejected: 0 };
  list(request, 'resourceLogs', '').forEach((item, r) => {
    const rPath = `resourceLogs[${r}]`;
    const rl = asPlain(item, rPath);
    // Shared by the resource's records: the sink reads it, it must not change it.
    const resource = resourceAttributes(rl, rPath);
    list(rl, 'scopeLogs', rPath).forEach((scopeItem, s) => {
      const sPath = `${rPath}.scopeLogs[${s}]`;
      list(asPlain(scopeItem, sPath), 'logRecords', sPath).forEach((recordItem, l) => {
        const path = `${sPath}.logRecords[${l}]`;
        const record = convertRecord(asPlain(recordItem, path), path, resource);
        if (record) {
          result.records.push(record);
        } else {
          result.rejected++;
          result.firstRejected ??= `${path}: no timeUnixNano or observedTimeUnixNano`;
        }
      });
    });
  });
  return result;
}

function convertRecord(
  lr: Plain,
  path: string,
  resource: Record<string, string>,
): IntakeLogRecord | undefined {
  const ts = msAt(lr, 'timeUnixNano', path) ?? msAt(lr, 'observedTimeUnixNano', path);
  if (ts === undefined) return undefined;
  const number = lr.severityNumber;
  const severity = severityOf(
    typeof number === 'number' ? number : severityNumberOf(number, `${path}.severityNumber`),
    stringAt(lr, 'severityText', path),
  );
  const body =
    lr.body === undefined || lr.body === null ? '' : anyToString(lr.body, `${path}.body`);
  const attributes: Record<string, string> = {};
  flatten(lr, 'attributes', path, '', attributes);
  const record: IntakeLogRecord = { ts, severity, body, attributes, resource };
  const traceId = traceIdOf(lr.traceId, `${path}.traceId`);
  if (traceId !== undefined) record.traceId = traceId;
  return record;
}

/** OTLP/JSON should send the enum as an integer; its name is taken too. */
function severityNumberOf(value: unknown, path: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') {
    const match = /^SEVERITY_NUMBER_([A-Z]+)([234]?)$/.exec(value);
    const base = match ? BY_NUMBER.indexOf(match[1]!.toLowerCase() as Severity) : -1;
    if (base >= 0) return base * 4 + Math.max(1, Number(match![2] || 1));
    if (value === 'SEVERITY_NUMBER_UNSPECIFIED') return 0;
  }
  throw new IntakeError(400, `${path}: expected a SeverityNumber, got ${JSON.stringify(value)}`);
}

/** Attributes as strings; a kvlist's keys are joined to its own with '.'. */
function flatten(
  parent: Plain,
  field: string,
  path: string,
  prefix: string,
  out: Record<string, string>,
  depth = 0,
): void {
  if (depth > MAX_DEPTH)
    throw new IntakeError(400, `${path}: nested deeper than ${MAX_DEPTH} levels`);
  keyValues(parent, field, path, (key, value, at) => {
    const name = prefix + key;
    const kvlist = value === undefined ? undefined : asPlain(value, at).kvlistValue;
    if (kvlist !== undefined && kvlist !== null) {
      const nested = asPlain(kvlist, `${at}.kvlistValue`);
      if (list(nested, 'values', `${at}.kvlistValue`).length === 0) out[name] = '{}';
      else flatten(nested, 'values', `${at}.kvlistValue`, `${name}.`, out, depth + 1);
      return;
    }
    out[name] = value === undefined ? '' : anyToString(value, at);
  });
}

/**
 * 32 lowercase hex digits, or undefined when absent, empty or all zero (invalid per OTLP).
 * Protobuf sends 16 bytes; OTLP/JSON hex, though some senders use protobuf JSON's base64.
 */
function traceIdOf(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  let hex: string | undefined;
  if (value instanceof Uint8Array) {
    if (value.length === 0) return undefined;
    if (value.length === 16) hex = Buffer.from(value).toString('hex');
  } else if (typeof value === 'string') {
    if (value === '') return undefined;
    if (/^[0-9a-fA-F]{32}$/.test(value)) hex = value.toLowerCase();
    else if (/^[A-Za-z0-9+/]{22}==$/.test(value))
      hex = Buffer.from(value, 'base64').toString('hex');
  }
  if (hex === undefined) {
    const got =
      value instanceof Uint8Array
        ? `${value.length} bytes`
        : typeof value === 'string'
          ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
          : typeof value;
    throw new IntakeError(400, `${path}: expected 16 bytes (32 hex digits), got ${got}`);
  }
  return /^0+$/.test(hex) ? undefined : hex;
}
