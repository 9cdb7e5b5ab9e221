// Silence matchers: parsed from the command line (`service=~"web|api"`), formatted back, and
// matched against label sets in memory, where a missing label is '' and a regex matches whole values.

import { matcherRegex, valueMatches } from '../query/match.ts';
import type { Matcher, MatchOp } from '../slo/model.ts';
import { SilenceValidationError } from './errors.ts';

/** A set of alert labels. */
export type LabelSet = Readonly<Record<string, string | undefined>>;

/** Prometheus label names; the same rule as the SLO and rule specs. */
export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Two-character operators first, so that `a=~b` is not read as `a = "~b"`. */
const OPERATORS: readonly MatchOp[] = ['=~', '!~', '!=', '='];

/** An unquoted value must not hold these; the shell or a reader would split or mangle it. */
const NEEDS_QUOTES = /[\s"'\\,{}]/u;

const EXAMPLE = 'alertname="HostDown"';

/** Why `source` is not a valid regular expression, or undefined when it is one. */
export function regexProblem(source: string): string | undefined {
  try {
    // Whole-value, anchored semantics as in Alertmanager and PromQL: `web` does not match `webapp`.
    matcherRegex(source);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /su, '');
  }
}

/** A matcher ready to test label sets; regular expressions are compiled once. */
export function compileMatcher(m: Matcher): (labels: LabelSet) => boolean {
  // Compile now, so an invalid expression fails here rather than at the first test.
  if (m.op === '=~' || m.op === '!~') matcherRegex(m.value);
  return (labels) => valueMatches(labels[m.label] ?? '', m);
}

/** True when the matcher also selects alerts that lack its label (such as `a=""` or `a!="x"`). */
export function matchesEmpty(m: Matcher): boolean {
  return compileMatcher(m)({});
}

/**
 * Parses `label op value`: op is =, !=, =~ or !~; the value is either double-quoted, where
 * \" is a quote, \\ a backslash and \n a newline while any other backslash stays as written (so
 * "\d+" is the regex \d+), or unquoted when it holds no space nor any of " ' \ , { }.
 * Spaces around the operator are allowed. Throws a SilenceValidationError naming the problem.
 */
export function parseMatcher(text: string): Matcher {
  const fail = (why: string) =>
    new SilenceValidationError(`matcher ${JSON.stringify(text)}: ${why}`);
  const rest = text.trim();
  const label = /^[^\s=!~"]*/u.exec(rest)?.[0] ?? '';
  if (label === '') {
    throw fail(`expected a label, an operator (=, !=, =~, !~) and a value, like ${EXAMPLE}`);
  }
  if (!LABEL_NAME.test(label)) {
    throw fail(
      `label ${JSON.stringify(label)} must be letters, digits and _, not starting with a digit`,
    );
  }
  const afterLabel = rest.slice(label.length).trimStart();
  const op = OPERATORS.find((candidate) => afterLabel.startsWith(candidate));
  if (op === undefined) {
    throw fail(`expected an operator (=, !=, =~, !~) after the label ${label}, like ${EXAMPLE}`);
  }
  const raw = afterLabel.slice(op.length).trim();
  let value: string;
  if (raw.startsWith('"')) {
    const quoted = readQuoted(raw);
    if (quoted === undefined) throw fail('the quoted value has no closing quote');
    if (quoted.rest !== '') {
      throw fail(`unexpected text after the closing quote: ${JSON.stringify(quoted.rest)}`);
    }
    value = quoted.value;
  } else {
    if (NEEDS_QUOTES.test(raw)) {
      throw fail(`put the value in double quotes when it holds spaces or any of " ' \\ , { }`);
    }
    value = raw;
  }
  if (op === '=~' || op === '!~') {
    const problem = regexProblem(value);
    if (problem !== undefined) {
      throw fail(`invalid regular expression ${JSON.stringify(value)} (${problem})`);
    }
  }
  return { label, op, value };
}

/** Reads a double-quoted value at the start of `text`; undefined when the quote is not closed. */
function readQuoted(text: string): { value: string; rest: string } | undefined {
  let value = '';
  for (let i = 1; i < text.length; i += 1) {
    const char = text[i];
    if (char === '"') return { value, rest: text.slice(i + 1).trim() };
    if (char === '\\' && i + 1 < text.length) {
      const next = text[i + 1];
      i += 1;
      if (next === '"' || next === '\\') value += next;
      else if (next === 'n') value += '\n';
      else value += `\\${next}`;
    } else {
      value += char;
    }
  }
  return undefined;
}

/** `label op "value"`, quoted and escaped so that parseMatcher reads back the same matcher. */
export function formatMatcher(m: Matcher): string {
  const escaped = m.value.replace(/[\\"\n]/gu, (c) => (c === '\n' ? '\\n' : `\\${c}`));
  return `${m.label}${m.op}"${escaped}"`;
}

/** `{a="b", c=~"d"}`, the way Alertmanager shows a silence's matchers. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map(formatMatcher).join(', ')}}`;
}
