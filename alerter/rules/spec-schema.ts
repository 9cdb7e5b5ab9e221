// The zod schema of a halo/v1 AlertRule document: threshold, absence and redundancy conditions.

import { z } from 'zod';
import {
  duration,
  exactlyOne,
  goodWhen,
  labelMap,
  labelName,
  matchers,
  metricName,
  name,
  stringMap,
} from '../slo/spec-fields.ts';
import { ABSENCE_SCOPES, AGGREGATIONS, COMPARISONS } from './model.ts';
import { badPlaceholder } from './template.ts';

const listOf = (what: string) => `expected one of ${what}`;

const comparison = z.enum(COMPARISONS, { error: listOf(COMPARISONS.join(', ')) });

const labelList = z
  .array(labelName, { error: 'expected a list of label names' })
  .superRefine((labels, ctx) => {
    labels.forEach((label, i) => {
      if (labels.indexOf(label) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: [i],
          message: 'expected each label once',
          input: label,
        });
      }
    });
  });

/** The parameters a rule's own query may use; the evaluator binds them. */
const SQL_PARAMS = new Set(['at', 'from']);

const sqlText = z
  .string({ error: 'expected a SELECT query' })
  .transform((text) => text.trim().replace(/[\s;]+$/, ''))
  .superRefine((text, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, input: text });
    if (!/^(SELECT|WITH)\b/i.test(text)) return issue('expected a SELECT query');
    for (const match of text.matchAll(/\{\s*(\w+)\s*:/g)) {
      if (!SQL_PARAMS.has(match[1] ?? '')) {
        return issue(
          `expected only the parameters {at:DateTime64(3)} and {from:DateTime64(3)} (got {${match[1]}:…})`,
        );
      }
    }
  });

const threshold = z
  .strictObject({
    metric: metricName.optional(),
    matchers,
    aggregation: z.enum(AGGREGATIONS, { error: listOf(AGGREGATIONS.join(', ')) }).optional(),
    by: labelList.optional(),
    sql: sqlText.optional(),
    over: duration(1000).prefault('5m'),
    op: comparison,
    value: z.number({ error: 'expected a number' }),
  })
  .superRefine((v, ctx) => {
    exactlyOne(v, ['metric', 'sql'], ctx);
    if (v.metric !== undefined && v.aggregation === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['aggregation'],
        message: listOf(AGGREGATIONS.join(', ')),
        input: undefined,
      });
    }
    if (v.sql === undefined) return;
    const extra = [
      v.aggregation !== undefined && 'aggregation',
      v.by !== undefined && 'by',
      v.matchers.length > 0 && 'matchers',
    ].filter((key): key is string => key !== false);
    for (const key of extra) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `expected no ${key} with sql (the query does its own)`,
        input: (v as Record<string, unknown>)[key],
      });
    }
  });

const absence = z
  .strictObject({
    scope: z.enum(ABSENCE_SCOPES, { error: listOf(ABSENCE_SCOPES.join(', ')) }).default('host'),
    matchers,
    silent_for: duration(1000).prefault('5m'),
    lookback: duration(60_000).prefault('1d'),
  })
  .superRefine((v, ctx) => {
    if (v.lookback <= v.silent_for) {
      ctx.addIssue({
        code: 'custom',
        path: ['lookback'],
        message: 'expected a lookback longer than silent_for',
        input: v.lookback,
      });
    }
  });

const redundancy = z
  .strictObject({
    metric: metricName.optional(),
    matchers,
    member: labelName.default('host'),
    by: labelList.default(['tier']),
    healthy_when: goodWhen.optional(),
    window: duration(1000).prefault('2m'),
    lookback: duration(60_000).prefault('1d'),
    min: z
      .number({ error: 'expected a whole number of members above 0' })
      .int({ error: 'expected a whole number of members above 0' })
      .positive({ error: 'expected a whole number of members above 0' }),
  })
  .superRefine((v, ctx) => {
    const issue = (path: string, message: string, input: unknown) =>
      ctx.addIssue({ code: 'custom', path: [path], message, input });
    if (v.healthy_when !== undefined && v.metric === undefined) {
      issue(
        'healthy_when',
        'expected healthy_when only with metric (without one, a member is healthy when it reports)',
        v.healthy_when,
      );
    }
    if (v.by.includes(v.member)) {
      issue('member', 'expected a member label that is not one of by', v.member);
    }
    if (v.lookback <= v.window) {
      issue('lookback', 'expected a lookback longer than window', v.lookback);
    }
  });

export const ruleDocumentSchema = z.strictObject({
  apiVersion: z.literal('halo/v1', { error: 'expected "halo/v1"' }),
  kind: z.literal('AlertRule', { error: 'expected "AlertRule"' }),
  metadata: z.strictObject({
    name,
    labels: labelMap.default({}).superRefine((labels, ctx) => {
      if ('alertname' in labels) {
        ctx.addIssue({
          code: 'custom',
          path: ['alertname'],
          message: 'expected no alertname label (it is the rule name)',
          input: labels['alertname'],
        });
      }
    }),
    annotations: stringMap.default({}).superRefine((annotations, ctx) => {
      for (const [key, text] of Object.entries(annotations)) {
        const bad = badPlaceholder(text);
        if (bad !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `expected only {{ $labels.<name> }} and {{ $value }} in a template (got ${bad})`,
            input: text,
          });
        }
      }
    }),
  }),
  spec: z
    .strictObject({
      for: duration(0).prefault('0s'),
      keep_firing_for: duration(0).prefault('0s'),
      threshold: threshold.optional(),
      absence: absence.optional(),
      redundancy: redundancy.optional(),
    })
    .superRefine((v, ctx) => exactlyOne(v, ['threshold', 'absence', 'redundancy'], ctx)),
});
export type RuleDocument = z.output<typeof ruleDocumentSchema>;
