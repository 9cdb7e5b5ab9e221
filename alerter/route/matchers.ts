// Label matchers of routes and inhibit rules: Alertmanager matcher strings or Halo's map form, matched on alert labels.

import { z } from 'zod';
import { matchers as matcherMap } from '../slo/spec-fields.ts';
import type { Matcher, MatchOp } from '../slo/model.ts';
import { matcherRegex, valueMatches } from '../query/match.ts';

export type { Matcher, MatchOp };

export type Labels = Readonly<Record<string, string>>;

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MATCHER = /^\s*([^\s=!~]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/su;

export { matcherRegex };

export function matcherMatches(labels: Labels, m: Matcher): boolean {
  return valueMatches(labels[m.label] ?? '', m);
}

/**
 * True when every matcher matches (no matchers match every label set). As Prometheus and
 * Alertmanager: a missing label is the empty string, and a regular expression must match the
 * whole value.
 */
export function labelsMatch(labels: Labels, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => matcherMatches(labels, m));
}

/** A matcher as Alertmanager prints it: `service=~"web|api"`. */
export function formatMatcher(m: Matcher): string {
  return `${m.label}${m.op}${JSON.stringify(m.value)}`;
}

/** Matchers in a stable order (label, then operator, then value), as `{a="1", b=~"2"}`. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  const sorted = [...matchers].sort(
    (a, b) => cmp(a.label, b.label) || cmp(a.op, b.op) || cmp(a.value, b.value),
  );
  return `{${sorted.map(formatMatcher).join(', ')}}`;
}

/** A label set in a stable order, as `{alertname="X", service="web"}`. */
export function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort(cmp);
  return `{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class MatcherSyntaxError extends Error {
  override name = 'MatcherSyntaxError';
}

/** Splits `a="x", b=~"y,z"` at the commas outside quotes (braces around it are optional). */
function splitMatchers(text: string): string[] {
  let s = text.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let escaped = false;
  for (const ch of s) {
    if (escaped) escaped = false;
    else if (ch === '\\') escaped = true;
    else if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p, i, all) => p !== '' || all.length === 1);
}

/** A value as written: quoted with \" \\ \n escapes, or bare (taken as it is). */
function unquote(raw: string, label: string): string {
  const unescaped = `expected no unescaped " inside the value of ${label} (write \\")`;
  if (!raw.startsWith('"')) {
    if (raw.includes('"')) throw new MatcherSyntaxError(unescaped);
    return raw;
  }
  let out = '';
  let escaped = false;
  for (let i = 1; i < raw.length; i++) {
    const ch = raw[i]!;
    if (escaped) {
      escaped = false;
      out += ch === 'n' ? '\n' : ch === '"' || ch === '\\' ? ch : `\\${ch}`;
    } else if (ch === '\\') {
      escaped = true;
    } else if (ch === '"') {
      if (i !== raw.length - 1) throw new MatcherSyntaxError(unescaped);
      return out;
    } else {
      out += ch;
    }
  }
  throw new MatcherSyntaxError(`expected a closing " after the value of ${label}`);
}

/**
 * One matcher string: `label op value`, the value quoted or bare. Errors say what is wrong,
 * not the text (the caller shows it).
 */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m)
    throw new MatcherSyntaxError('expected a matcher like severity="page" or service=~"web|api"');
  const [, label = '', op = '=', raw = ''] = m;
  if (!LABEL_NAME.test(label)) {
    throw new MatcherSyntaxError(`expected a label name of letters, digits and _ before ${op}`);
  }
  const matcher: Matcher = { label, op: op as MatchOp, value: unquote(raw, label) };
  if (op === '=~' || op === '!~') checkRegex(matcher);
  return matcher;
}

function checkRegex(m: Matcher): void {
  try {
    matcherRegex(m.value);
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression: .*\/\w*: /, '');
    throw new MatcherSyntaxError(`expected a valid regular expression for ${m.label} (${why})`);
  }
}

/** A matcher string, possibly several separated by commas: `{a="x", b!="y"}`. */
export function parseMatchers(text: string): Matcher[] {
  return splitMatchers(text).map(parseMatcher);
}

const LIST_OR_MAP =
  'expected a list of matchers like [severity="page", service=~"web|api"] or a map of label: value';

/**
 * A `matchers:` key: a list of Alertmanager matcher strings, or the map form of Halo's SLO
 * specs ({ label: value | { op, value } }). Absent means no matchers.
 */
export const matchersField = z
  .unknown()
  .optional()
  .transform((value, ctx): Matcher[] => {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) {
      const out: Matcher[] = [];
      value.forEach((item, i) => {
        if (typeof item !== 'string') {
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: 'expected a matcher string like severity="page"',
            input: item,
          });
          return;
        }
        try {
          out.push(...parseMatchers(item));
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [i], message: (err as Error).message, input: item });
        }
      });
      return out;
    }
    if (typeof value !== 'object') {
      ctx.addIssue({ code: 'custom', message: LIST_OR_MAP, input: value });
      return z.NEVER;
    }
    const parsed = matcherMap.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: value });
      }
      return z.NEVER;
    }
    for (const m of parsed.data) {
      if (m.op !== '=~' && m.op !== '!~') continue;
      try {
        checkRegex(m);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: [m.label, 'value'],
          message: (err as Error).message,
          input: m.value,
        });
      }
    }
    return parsed.data;
  });
