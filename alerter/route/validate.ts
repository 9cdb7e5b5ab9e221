// Load-time checks of a routing tree: every receiver and time interval a route names must be defined.

import type { z } from 'zod';
import { closest } from '../../core/config/shape.ts';
import { ConfigError } from '../../core/errors.ts';
import { walkRoutes, type RouteTree } from './tree.ts';

export interface RouteIssue {
  /** Key path below `route:`, e.g. ['routes', 0, 'receiver']. */
  path: Array<string | number>;
  message: string;
  input: unknown;
}

function expected(what: string, key: string, known: readonly string[], got: string): string {
  if (known.length === 0) return `expected a ${what} defined in ${key} (none is defined)`;
  const hint = closest(got, known);
  return (
    `expected one of the ${what}s defined in ${key}: ${known.join(', ')}` +
    (hint ? ` (did you mean "${hint}"?)` : '')
  );
}

/** Receivers and time intervals that routes name but the config does not define. */
export function validateRoutes(
  tree: RouteTree,
  receiverNames: readonly string[],
  intervalNames: readonly string[],
): RouteIssue[] {
  const issues: RouteIssue[] = [];
  for (const route of walkRoutes(tree)) {
    const { receiver, muteTimeIntervals, activeTimeIntervals } = route.own;
    if (receiver !== undefined && !receiverNames.includes(receiver)) {
      issues.push({
        path: [...route.path, 'receiver'],
        message: expected('receiver', 'receivers', receiverNames, receiver),
        input: receiver,
      });
    }
    const lists = [
      ['mute_time_intervals', muteTimeIntervals],
      ['active_time_intervals', activeTimeIntervals],
    ] as const;
    for (const [key, names] of lists) {
      (names ?? []).forEach((name, i) => {
        if (intervalNames.includes(name)) return;
        issues.push({
          path: [...route.path, key, i],
          message: expected('time interval', 'time_intervals', intervalNames, name),
          input: name,
        });
      });
    }
  }
  return issues;
}

/**
 * validateRoutes inside a zod superRefine of the section that holds `route`, receivers and
 * time_intervals, so loadConfig reports each issue with its file line: `at` is the key path
 * of `route` in that section. Does nothing while the route itself has errors (zod then hands
 * the refinement the route as written, not resolved).
 */
export function addRouteIssues(
  ctx: z.RefinementCtx,
  at: ReadonlyArray<string | number>,
  tree: RouteTree,
  receiverNames: readonly string[],
  intervalNames: readonly string[],
): void {
  if (!isResolved(tree)) return;
  for (const issue of validateRoutes(tree, receiverNames, intervalNames)) {
    ctx.addIssue({
      code: 'custom',
      path: [...at, ...issue.path],
      message: issue.message,
      input: issue.input,
    });
  }
}

function isResolved(tree: unknown): tree is RouteTree {
  return typeof (tree as Partial<RouteTree> | undefined)?.own === 'object';
}

/** Throws one ConfigError with a line per issue (`route.routes.0.receiver: got "x", …`). */
export function assertRoutes(
  tree: RouteTree,
  receiverNames: readonly string[],
  intervalNames: readonly string[],
): void {
  const issues = validateRoutes(tree, receiverNames, intervalNames);
  if (issues.length === 0) return;
  throw new ConfigError(
    issues
      .map((i) => `${['route', ...i.path].join('.')}: got ${JSON.stringify(i.input)}, ${i.message}`)
      .join('\n'),
  );
}
