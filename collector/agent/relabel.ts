// Metric relabeling as Prometheus's metric_relabel_configs: the rule schema (snake_case keys as
// in Prometheus), compiled once, then applied to each sample's name and labels.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LABEL_NAME_RE, METRIC_NAME_RE } from '../../core/batch.ts';
import { putLabel } from './prom-text.ts';

const ACTIONS = [
  'replace',
  'keep',
  'drop',
  'labeldrop',
  'labelkeep',
  'labelmap',
  'hashmod',
] as const;
export type RelabelAction = (typeof ACTIONS)[number];

/** What Prometheus accepts as a replace target_label: a label name, possibly with $groups. */
const TARGET_TEMPLATE = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

const labelName = z
  .string({ error: 'expected a label name' })
  .regex(LABEL_NAME_RE, { error: 'expected a label name of letters, digits and _' });

const regexText = z
  .string({ error: 'expected a regular expression' })
  .refine((source) => tryCompile(source) !== undefined, {
    error: 'expected a regular expression that compiles (RE2 syntax as in Prometheus)',
  });

/** One metric_relabel_configs rule; defaults as in Prometheus. */
export const relabelRule = z
  .strictObject({
    source_labels: z.array(labelName, { error: 'expected a list of label names' }).default([]),
    separator: z.string({ error: 'expected a string' }).default(';'),
    regex: regexText.default('(.*)'),
    target_label: z.string({ error: 'expected a label name' }).optional(),
    replacement: z.string({ error: 'expected a string' }).default('$1'),
    modulus: z
      .number({ error: 'expected a positive integer' })
      .int({ error: 'expected a positive integer' })
      .positive({ error: 'expected a positive integer' })
      .optional(),
    action: z.enum(ACTIONS, { error: `expected one of ${ACTIONS.join(', ')}` }).default('replace'),
  })
  .superRefine((rule, ctx) => {
    const issue = ruleProblem(rule);
    if (issue) ctx.addIssue({ code: 'custom', path: [issue.key], message: issue.message });
  });

export type RelabelRule = z.output<typeof relabelRule>;

/** The checks Prometheus makes on a rule beyond each key's own type. */
function ruleProblem(rule: RelabelRule): { key: string; message: string } | undefined {
  const target = rule.target_label;
  if (rule.action === 'replace') {
    if (target === undefined) return { key: 'target_label', message: 'expected a target_label' };
    if (!TARGET_TEMPLATE.test(target)) {
      return { key: 'target_label', message: 'expected a label name (with $1 or ${1} groups)' };
    }
  }
  if (rule.action === 'hashmod') {
    if (target === undefined || !LABEL_NAME_RE.test(target)) {
      return { key: 'target_label', message: 'expected a label name' };
    }
    if (rule.modulus === undefined) return { key: 'modulus', message: 'expected a modulus' };
  }
  if (rule.action === 'labelmap' && !TARGET_TEMPLATE.test(rule.replacement)) {
    return { key: 'replacement', message: 'expected a label name (with $1 or ${1} groups)' };
  }
  if (rule.action === 'labeldrop' || rule.action === 'labelkeep') {
    if (rule.source_labels.length > 0 || target !== undefined) {
      return { key: 'action', message: `expected only regex with ${rule.action}` };
    }
  }
  return undefined;
}

type TemplatePart = string | number | { group: string };

interface CompiledRule {
  action: RelabelAction;
  sources: readonly string[];
  separator: string;
  regex: RegExp;
  /** The target_label as written (hashmod), and as a template (replace). */
  targetLabel: string;
  /** The target_label when it holds no $group. */
  fixedTarget: string | undefined;
  target: TemplatePart[];
  replacement: TemplatePart[];
  modulus: bigint;
}

/** Rules ready to apply: regexes and $-templates parsed once. */
export interface RelabelRules {
  readonly rules: readonly CompiledRule[];
}

export function compileRelabelRules(rules: readonly RelabelRule[]): RelabelRules {
  return {
    rules: rules.map((rule) => ({
      action: rule.action,
      sources: rule.source_labels,
      separator: rule.separator,
      regex: compileAnchored(rule.regex),
      targetLabel: rule.target_label ?? '',
      fixedTarget: fixedTarget(rule.target_label),
      target: parseTemplate(rule.target_label ?? ''),
      replacement: parseTemplate(rule.replacement),
      modulus: BigInt(rule.modulus ?? 1),
    })),
  };
}

function fixedTarget(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const parts = parseTemplate(target);
  const only = parts.length === 1 ? parts[0] : undefined;
  return typeof only === 'string' && LABEL_NAME_RE.test(only) ? only : undefined;
}

export interface Relabelable {
  name: string;
  labels: Record<string, string>;
}

/**
 * Applies the rules in order to a sample's name (as label `__name__`) and labels; returns the
 * sample itself when no rule changed it, a copy with the new name and labels when one did, or
 * undefined when a rule drops it or leaves it without a valid name. The input is never changed.
 */
export function applyRelabel<T extends Relabelable>(
  sample: T,
  compiled: RelabelRules,
): T | undefined {
  if (compiled.rules.length === 0) return sample;
  const set = new LabelSet(sample);
  for (const rule of compiled.rules) {
    if (!applyRule(rule, set)) return undefined;
  }
  if (!set.changed) return sample;
  const { name, labels } = set;
  if (!METRIC_NAME_RE.test(name)) return undefined;
  return { ...sample, name, labels };
}

/**
 * The name and labels being relabeled, copied on the first change only: most rules are keep or
 * drop, which only read, and a sample they pass is returned as it came.
 */
class LabelSet {
  name: string;
  labels: Record<string, string>;
  changed = false;

  constructor(sample: Relabelable) {
    this.name = sample.name;
    this.labels = sample.labels;
  }

  get(name: string): string | undefined {
    if (name === '__name__') return this.name === '' ? undefined : this.name;
    // Own string values only: `constructor` or `__proto__` must not read the prototype.
    const value: unknown = this.labels[name];
    return typeof value === 'string' && Object.hasOwn(this.labels, name) ? value : undefined;
  }

  names(): string[] {
    return ['__name__', ...Object.keys(this.labels)];
  }

  /** Sets a label; an empty value deletes it, as in Prometheus. */
  set(name: string, value: string): void {
    if (this.get(name) === (value === '' ? undefined : value)) return;
    if (!this.changed) {
      // Spread copies an own __proto__ label as data, as putLabel writes it.
      this.labels = { ...this.labels };
      this.changed = true;
    }
    if (name === '__name__') this.name = value;
    else if (value === '') delete this.labels[name];
    else putLabel(this.labels, name, value);
  }
}

/** One rule on the label set; false drops the sample. */
function applyRule(rule: CompiledRule, labels: LabelSet): boolean {
  switch (rule.action) {
    case 'keep':
      return rule.regex.test(joinSources(rule, labels));
    case 'drop':
      return !rule.regex.test(joinSources(rule, labels));
    case 'replace': {
      const match = rule.regex.exec(joinSources(rule, labels));
      if (!match) return true;
      // A target without $ was checked when the rule was read; one with $ is checked each time.
      const target = rule.fixedTarget ?? expand(rule.target, match);
      if (rule.fixedTarget !== undefined || LABEL_NAME_RE.test(target)) {
        labels.set(target, expand(rule.replacement, match));
      }
      return true;
    }
    case 'hashmod': {
      const digest = createHash('md5').update(joinSources(rule, labels)).digest();
      // The last 8 bytes of the md5, big-endian, as Prometheus does: the same value, same shard.
      const value = digest.readBigUInt64BE(8) % rule.modulus;
      labels.set(rule.targetLabel, value.toString());
      return true;
    }
    case 'labelmap':
      // Values as they were before the rule, as Prometheus maps from a snapshot.
      for (const [name, value] of labels.names().map((n) => [n, labels.get(n) ?? ''] as const)) {
        const match = rule.regex.exec(name);
        if (!match) continue;
        const mapped = expand(rule.replacement, match);
        if (LABEL_NAME_RE.test(mapped)) labels.set(mapped, value);
      }
      return true;
    case 'labeldrop':
    case 'labelkeep':
      // Unlike Prometheus, the name is never dropped here: a labelkeep written for the other
      // labels would otherwise leave every sample without a name.
      for (const name of labels.names()) {
        if (name === '__name__') continue;
        if (rule.regex.test(name) === (rule.action === 'labeldrop')) labels.set(name, '');
      }
      return true;
  }
}

function joinSources(rule: CompiledRule, labels: LabelSet): string {
  const { sources } = rule;
  if (sources.length === 1) return labels.get(sources[0]!) ?? '';
  return sources.map((name) => labels.get(name) ?? '').join(rule.separator);
}

/** Go's regexp.Expand: $1, ${1}, $name, ${name}, $$; a group that did not match gives ''. */
function expand(parts: readonly TemplatePart[], match: RegExpExecArray): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') out += part;
    else if (typeof part === 'number') out += match[part] ?? '';
    else out += match.groups?.[part.group] ?? '';
  }
  return out;
}

const NAME_CHAR = /[\p{L}\p{N}_]/u;

/**
 * Splits a replacement template as Go's regexp.Expand reads it. Like Go, `$1x` means the group
 * named "1x" (so it expands to nothing): write `${1}x`. A `$` that starts no name is kept.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) break;
    literal += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      literal += '$';
      i++;
      continue;
    }
    const braced = template[i] === '{';
    let j = braced ? i + 1 : i;
    while (j < template.length && NAME_CHAR.test(template[j]!)) j++;
    const name = template.slice(braced ? i + 1 : i, j);
    if (name === '' || (braced && template[j] !== '}')) {
      literal += '$';
      continue;
    }
    i = braced ? j + 1 : j;
    if (literal !== '') parts.push(literal);
    literal = '';
    const digitsOnly = /^\d+$/.test(name) && (name === '0' || !name.startsWith('0'));
    parts.push(digitsOnly ? Number(name) : { group: name });
  }
  literal += template.slice(i);
  if (literal !== '') parts.push(literal);
  return parts;
}

/**
 * Prometheus anchors the regex as ^(?s:…)$. RE2 and JavaScript agree on the common syntax; the
 * differences handled are (?P<name>…) for named groups and a leading (?i) flag. The `u` flag
 * matches by code point as RE2 does, but refuses some escapes RE2 takes, hence the retry.
 */
function tryCompile(source: string): RegExp | undefined {
  let flags = 's';
  let body = source.replace(/\(\?P</g, '(?<');
  if (body.startsWith('(?i)')) {
    flags += 'i';
    body = body.slice(4);
  }
  for (const extra of ['u', '']) {
    try {
      return new RegExp(`^(?:${body})$`, flags + extra);
    } catch {
      // try without the u flag
    }
  }
  return undefined;
}

function compileAnchored(source: string): RegExp {
  const regex = tryCompile(source);
  if (!regex) throw new Error(`relabel regex does not compile: ${source}`);
  return regex;
}
