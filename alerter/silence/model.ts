// The silence model: what a silence holds, its state at a moment, and the validation of new and
// stored silences with one-line errors that name the field.

import { z } from 'zod';
import type { Matcher } from '../slo/model.ts';
import { SilenceValidationError } from './errors.ts';
import { LABEL_NAME, matchesEmpty, regexProblem } from './matcher.ts';

export type { Matcher } from '../slo/model.ts';

/** A silence as stored; times are epoch milliseconds. */
export interface Silence {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  /** Set to the moment of expiry when someone expires the silence early. */
  endsAt: number;
  createdBy: string;
  comment: string;
  createdAt: number;
  updatedAt: number;
}

/** What a caller gives to create a silence; startsAt defaults to now. */
export interface SilenceInput {
  matchers: Matcher[];
  startsAt?: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

export const SILENCE_STATES = ['active', 'pending', 'expired'] as const;
export type SilenceState = (typeof SILENCE_STATES)[number];

/** A silence with its state at the moment it was read. */
export type SilenceWithState = Silence & { state: SilenceState };

/** Limits that keep one silence a small KV value and a readable line. */
export const SILENCE_LIMITS = { matchers: 64, value: 1024, createdBy: 256, comment: 4096 } as const;

/** pending before startsAt, active in [startsAt, endsAt), expired from endsAt on. */
export function silenceState(
  silence: Pick<Silence, 'startsAt' | 'endsAt'>,
  at: number,
): SilenceState {
  if (at >= silence.endsAt) return 'expired';
  if (at < silence.startsAt) return 'pending';
  return 'active';
}

/** Unknown keys are errors (a typo such as `endAt` must not be dropped silently). */
const strict = (keys: string) => ({
  error: (issue: { code?: string; keys?: readonly string[] }) => {
    if (issue.code === 'unrecognized_keys') {
      const names = (issue.keys ?? []).map((k) => JSON.stringify(k)).join(', ');
      return `unknown key ${names} (expected ${keys})`;
    }
    return issue.code === 'invalid_type' ? `expected an object with ${keys}` : undefined;
  },
});

export const isoTime = (ms: number): string =>
  Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);

const time = () =>
  z
    .number({ error: 'expected a time in epoch milliseconds' })
    .int({ error: 'expected a time in whole epoch milliseconds' })
    .min(0, { error: 'expected a time in epoch milliseconds, not negative' });

const text = (what: string, max: number) =>
  z
    .string({ error: `expected ${what}` })
    .trim()
    .min(1, { error: `expected ${what}, not an empty string` })
    .max(max, { error: `expected ${what} of at most ${max} characters` });

const matcherSchema = z
  .strictObject({
    label: z
      .string({ error: 'expected a label name' })
      .regex(LABEL_NAME, { error: 'expected a label name of letters, digits and _' }),
    op: z.enum(['=', '!=', '=~', '!~'], { error: 'expected one of =, !=, =~, !~' }),
    value: z
      .string({ error: 'expected a string' })
      .max(SILENCE_LIMITS.value, { error: `expected at most ${SILENCE_LIMITS.value} characters` }),
  })
  .superRefine((m, ctx) => {
    if (m.op !== '=~' && m.op !== '!~') return;
    const problem = regexProblem(m.value);
    if (problem === undefined) return;
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message: `invalid regular expression ${JSON.stringify(m.value)} (${problem})`,
      input: m.value,
    });
  });

const matchersSchema = z
  .array(matcherSchema, { error: 'expected a list of matchers' })
  .min(1, { error: 'expected at least one matcher' })
  .max(SILENCE_LIMITS.matchers, { error: `expected at most ${SILENCE_LIMITS.matchers} matchers` })
  .superRefine((matchers, ctx) => {
    if (matchers.length === 0) return;
    // Alertmanager's rule: a silence of only such matchers would also mute every alert that lacks
    // the labels, which is almost never what its author meant.
    const valid = matchers.every((m) => m.op === '=' || m.op === '!=' || !regexProblem(m.value));
    if (valid && matchers.every(matchesEmpty)) {
      ctx.addIssue({
        code: 'custom',
        message: 'at least one matcher must not match the empty string',
        input: matchers,
      });
    }
  });

const common = {
  matchers: matchersSchema,
  createdBy: text("the author's name", SILENCE_LIMITS.createdBy),
  comment: text('a comment saying why', SILENCE_LIMITS.comment),
};

function endsAfterStart(
  silence: { startsAt?: number | undefined; endsAt: number },
  ctx: z.RefinementCtx,
  allowEqual: boolean,
): void {
  const { startsAt, endsAt } = silence;
  if (startsAt === undefined || endsAt > startsAt || (allowEqual && endsAt === startsAt)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['endsAt'],
    message: `must be after startsAt (endsAt ${isoTime(endsAt)}, startsAt ${isoTime(startsAt)})`,
    input: endsAt,
  });
}

export const silenceInputSchema = z
  .strictObject(
    { ...common, startsAt: time().optional(), endsAt: time() },
    strict('matchers, startsAt, endsAt, createdBy, comment'),
  )
  .superRefine((s, ctx) => endsAfterStart(s, ctx, false));

/** A stored silence; an expired pending one has endsAt equal to startsAt. */
export const silenceSchema = z
  .strictObject(
    {
      id: z.uuid({ error: 'expected a UUID' }),
      ...common,
      startsAt: time(),
      endsAt: time(),
      createdAt: time(),
      updatedAt: time(),
    },
    strict('id, matchers, startsAt, endsAt, createdBy, comment, createdAt, updatedAt'),
  )
  .superRefine((s, ctx) => endsAfterStart(s, ctx, true));

/** `matchers[0].value` for a zod path. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i > 0 ? '.' : ''}${String(part)}`,
    )
    .join('');
}

/** The issues of a failed parse as one line: `silence endsAt: must be after startsAt (...)`. */
export function issuesText(error: z.ZodError, what = 'silence'): string {
  const issues = error.issues.map((issue) => {
    const at = pathText(issue.path);
    return at === '' ? issue.message : `${at}: ${issue.message}`;
  });
  return `${what} ${issues.join('; ')}`;
}

/** Validates what a caller gave; throws a SilenceValidationError with a one-line message. */
export function parseSilenceInput(input: unknown): SilenceInput {
  const result = silenceInputSchema.safeParse(input);
  if (!result.success) throw new SilenceValidationError(issuesText(result.error));
  return result.data;
}

/** Validates a stored silence (written by any replica, or by hand); throws like parseSilenceInput. */
export function parseSilence(value: unknown): Silence {
  const result = silenceSchema.safeParse(value);
  if (!result.success) throw new SilenceValidationError(issuesText(result.error));
  return result.data;
}
