// The `route:` tree as written in halo.yaml (zod): Alertmanager's keys, each optional on a child route.

import { z } from 'zod';
import { optionalDuration } from '../../core/config/schema.ts';
import type { Duration } from '../../core/config/types.ts';
import { matchersField, type Matcher } from './matchers.ts';
import { GROUP_BY_ALL, resolveRouteTree } from './tree.ts';

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const name = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

/** A list of distinct names, each of `what`. */
const nameList = (what: string) =>
  z
    .array(name(what), { error: `expected a list of ${what}s` })
    .superRefine((names, ctx) => duplicates(names, ctx));

function duplicates(names: readonly string[], ctx: z.RefinementCtx): void {
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) {
      ctx.addIssue({ code: 'custom', path: [i], message: `expected ${n} only once`, input: n });
    }
  });
}

const groupBy = z
  .array(
    z
      .string({ error: 'expected a label name' })
      .refine((label) => label === GROUP_BY_ALL || LABEL_NAME.test(label), {
        error: `expected a label name of letters, digits and _ (or '${GROUP_BY_ALL}' alone for every label)`,
      }),
    { error: `expected a list of label names, or ['${GROUP_BY_ALL}'] to group by every label` },
  )
  .superRefine((labels, ctx) => {
    duplicates(labels, ctx);
    if (labels.includes(GROUP_BY_ALL) && labels.length > 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected either ['${GROUP_BY_ALL}'] (every label) or label names, not both`,
        input: labels,
      });
    }
  });

/** One route as written: every key optional; children inherit what they leave out. */
export interface RouteSpec {
  receiver?: string | undefined;
  group_by?: string[] | undefined;
  group_wait?: Duration | undefined;
  group_interval?: Duration | undefined;
  repeat_interval?: Duration | undefined;
  matchers: Matcher[];
  continue: boolean;
  mute_time_intervals?: string[] | undefined;
  active_time_intervals?: string[] | undefined;
  routes: RouteSpec[];
}

export const routeSpecSchema: z.ZodType<RouteSpec, unknown> = z.strictObject(
  {
    /** The receiver notified for alerts that end at this route. */
    receiver: name('a receiver name').optional(),
    /** Labels whose values make a group; ['...'] groups by every label. */
    group_by: groupBy.optional(),
    /** How long a new group waits for more alerts before its first notification. */
    group_wait: optionalDuration(),
    /** How long a group waits before telling of alerts added to it (or resolved). */
    group_interval: optionalDuration({ ms: 1000, text: '1s' }),
    /** How long before a notification that was sent is sent again. */
    repeat_interval: optionalDuration({ ms: 1000, text: '1s' }),
    /** What an alert's labels must match to take this route. */
    matchers: matchersField,
    /** Also try the next sibling routes after this one matched. */
    continue: z.boolean({ error: 'expected true or false' }).default(false),
    /** Names of time_intervals during which this route sends nothing. */
    mute_time_intervals: nameList('time interval name').optional(),
    /** Names of time_intervals outside which this route sends nothing. */
    active_time_intervals: nameList('time interval name').optional(),
    get routes() {
      return z
        .array(routeSpecSchema, { error: 'expected a list of routes' })
        .default([]) as z.ZodType<RouteSpec[], unknown>;
    },
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'expected a route: a mapping of receiver, matchers, routes…'
        : undefined,
  },
);

/** Checks that hold for the root route only: it takes every alert, so it needs a receiver. */
export function checkRoot(root: RouteSpec, ctx: z.RefinementCtx): void {
  if (root.receiver === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['receiver'],
      message: 'expected a receiver on the root route (it takes every alert no child route takes)',
    });
  }
  if (root.matchers.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['matchers'],
      message: 'expected no matchers on the root route (it takes every alert)',
    });
  }
  if (root.continue) {
    ctx.addIssue({
      code: 'custom',
      path: ['continue'],
      message: 'expected no continue on the root route (it has no siblings)',
    });
  }
}

/** The `route:` key: the root route and its children, resolved into a RouteTree. */
export const routeTreeSchema = routeSpecSchema.superRefine(checkRoot).transform(resolveRouteTree);
