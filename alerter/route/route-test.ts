// What `halo route test LABELS…` prints (receivers and routes a label set reaches), and its key=value arguments.

import { HaloError } from '../../core/errors.ts';
import { formatDuration } from '../../core/units.ts';
import { formatLabels, type Labels } from './matchers.ts';
import {
  GROUP_BY_ALL,
  groupLabels,
  matchRoutes,
  type ResolvedRoute,
  type RouteTree,
} from './tree.ts';

/** A command-line argument is not a `key=value` label. */
export class LabelArgsError extends HaloError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `key=value` arguments as a label set. A value may be in double quotes (`summary="a b"`);
 * an empty value is the same as no label, as in Alertmanager.
 */
export function parseLabelArgs(args: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  const given = new Set<string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0) {
      throw new LabelArgsError(
        `expected a label as key=value, like severity=page (got ${JSON.stringify(arg)})`,
      );
    }
    const key = arg.slice(0, eq).trim();
    let value = arg.slice(eq + 1);
    if (!LABEL_NAME.test(key)) {
      throw new LabelArgsError(
        `expected a label name of letters, digits and _ before = (got ${JSON.stringify(arg)})`,
      );
    }
    if (given.has(key)) throw new LabelArgsError(`expected label ${key} once (given twice)`);
    given.add(key);
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replace(/\\(["\\])/g, '$1');
    }
    if (value !== '') labels[key] = value;
  }
  return labels;
}

function describeRoute(route: ResolvedRoute, labels: Labels): string[] {
  const by = route.groupByAll
    ? `group_by ['${GROUP_BY_ALL}']`
    : route.groupBy.length > 0
      ? `group_by ${route.groupBy.join(', ')}`
      : 'no group_by: one group for the route';
  const lines = [
    `${route.where} ${route.id}${route.continue ? ' (continue)' : ''}`,
    `  receiver: ${route.receiver}`,
    `  group: ${formatLabels(groupLabels(route, labels))} (${by})`,
    `  timing: group_wait ${formatDuration(route.groupWaitMs)}, ` +
      `group_interval ${formatDuration(route.groupIntervalMs)}, ` +
      `repeat_interval ${formatDuration(route.repeatIntervalMs)}`,
  ];
  if (route.muteTimeIntervals.length > 0)
    lines.push(`  muted during: ${route.muteTimeIntervals.join(', ')}`);
  if (route.activeTimeIntervals.length > 0)
    lines.push(`  active only during: ${route.activeTimeIntervals.join(', ')}`);
  return lines;
}

/**
 * The text of `halo route test`: the label set, the receivers it reaches (in routing order,
 * each once), then each route that takes it.
 */
export function formatRouteTest(tree: RouteTree, labels: Labels): string {
  const routes = matchRoutes(tree, labels);
  const receivers = [...new Set(routes.map((r) => r.receiver))];
  const lines = [
    `labels: ${formatLabels(labels)}`,
    `receivers: ${receivers.length > 0 ? receivers.join(', ') : '(none)'}`,
  ];
  for (const route of routes) lines.push('', ...describeRoute(route, labels));
  return `${lines.join('\n')}\n`;
}
