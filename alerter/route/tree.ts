// The resolved routing tree (inherited settings, stable ids), the routes a label set takes, and its group key there.

import {
  formatLabels,
  formatMatchers,
  labelsMatch,
  type Labels,
  type Matcher,
} from './matchers.ts';
import type { RouteSpec } from './schema.ts';

/** The group_by value that groups by every label (Alertmanager's `['...']`). */
export const GROUP_BY_ALL = '...';

/** A route with its effective settings (its own, or inherited). */
export interface ResolvedRoute {
  /**
   * Stable identity: the matchers of the routes from the root to this one, as Alertmanager's
   * route key (`{}/{severity="page"}/{service=~"web|api"}`), so that reordering routes keeps
   * every group. Routes with the same path get `#2`, `#3` in the order of the tree.
   */
  id: string;
  /** Where the route is written: `route`, `route.routes[0].routes[1]`. */
  where: string;
  /** The key path of the route below `route:` (for config errors): ['routes', 0]. */
  path: ReadonlyArray<string | number>;
  matchers: Matcher[];
  continue: boolean;
  receiver: string;
  /** Labels that make a group; with groupByAll, every label does. */
  groupBy: string[];
  groupByAll: boolean;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  muteTimeIntervals: string[];
  activeTimeIntervals: string[];
  /** The names this route writes itself (not inherited): config errors point at them. */
  own: { receiver?: string; muteTimeIntervals?: string[]; activeTimeIntervals?: string[] };
}

export interface RouteTree extends ResolvedRoute {
  routes: RouteTree[];
}

/** The root's settings when it leaves them out (Alertmanager's defaults). */
export const ROUTE_DEFAULTS = {
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * 60_000,
  repeatIntervalMs: 4 * 3_600_000,
} as const;

type Inherited = Omit<ResolvedRoute, 'id' | 'where' | 'path' | 'matchers' | 'continue' | 'own'>;

/**
 * Resolves a parsed tree: each route gets its id and the settings it inherits. Mute and active
 * time intervals are inherited too (unlike Alertmanager, where they apply to the route that
 * names them only): a parent muted at night mutes its children, unless a child sets its own
 * list (`[]` to clear it).
 */
export function resolveRouteTree(root: RouteSpec): RouteTree {
  const seen = new Map<string, number>();
  const defaults: Inherited = {
    receiver: '',
    groupBy: [],
    groupByAll: false,
    ...ROUTE_DEFAULTS,
    muteTimeIntervals: [],
    activeTimeIntervals: [],
  };
  return resolve(root, defaults, undefined, [], seen);
}

function resolve(
  spec: RouteSpec,
  parent: Inherited,
  parentKey: string | undefined,
  path: Array<string | number>,
  seen: Map<string, number>,
): RouteTree {
  const key =
    parentKey === undefined
      ? formatMatchers(spec.matchers)
      : `${parentKey}/${formatMatchers(spec.matchers)}`;
  const n = (seen.get(key) ?? 0) + 1;
  seen.set(key, n);
  const groupBy = spec.group_by ?? (parent.groupByAll ? [GROUP_BY_ALL] : parent.groupBy);
  const groupByAll = groupBy.includes(GROUP_BY_ALL);
  const settings: Inherited = {
    receiver: spec.receiver ?? parent.receiver,
    groupBy: groupByAll ? [] : [...groupBy],
    groupByAll,
    groupWaitMs: spec.group_wait?.ms ?? parent.groupWaitMs,
    groupIntervalMs: spec.group_interval?.ms ?? parent.groupIntervalMs,
    repeatIntervalMs: spec.repeat_interval?.ms ?? parent.repeatIntervalMs,
    muteTimeIntervals: [...(spec.mute_time_intervals ?? parent.muteTimeIntervals)],
    activeTimeIntervals: [...(spec.active_time_intervals ?? parent.activeTimeIntervals)],
  };
  const own: ResolvedRoute['own'] = {};
  if (spec.receiver !== undefined) own.receiver = spec.receiver;
  if (spec.mute_time_intervals !== undefined) own.muteTimeIntervals = spec.mute_time_intervals;
  if (spec.active_time_intervals !== undefined)
    own.activeTimeIntervals = spec.active_time_intervals;
  return {
    id: n === 1 ? key : `${key}#${n}`,
    where: whereOf(path),
    path,
    matchers: spec.matchers,
    continue: spec.continue,
    ...settings,
    own,
    routes: spec.routes.map((child, i) =>
      resolve(child, settings, key, [...path, 'routes', i], seen),
    ),
  };
}

/** `route.routes[0].routes[1]` for ['routes', 0, 'routes', 1]. */
function whereOf(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>(
    (out, p) => (typeof p === 'number' ? `${out}[${p}]` : `${out}.${p}`),
    'route',
  );
}

/**
 * The routes an alert with these labels takes, depth first: at each level the first child
 * that matches (and the ones after it while the matched ones say `continue`); a route none
 * of whose children match takes the alert itself. Empty when the tree's root does not match.
 */
export function matchRoutes(tree: RouteTree, labels: Labels): ResolvedRoute[] {
  if (!labelsMatch(labels, tree.matchers)) return [];
  const out: ResolvedRoute[] = [];
  for (const child of tree.routes) {
    const matched = matchRoutes(child, labels);
    out.push(...matched);
    if (matched.length > 0 && !child.continue) break;
  }
  if (out.length === 0) out.push(tree);
  return out;
}

/** Every route of the tree, depth first (the root first). */
export function walkRoutes(tree: RouteTree): RouteTree[] {
  return [tree, ...tree.routes.flatMap(walkRoutes)];
}

/**
 * The labels that name an alert's group on a route: its values of group_by (a label it lacks
 * is left out, as an empty one would be), or every label with group_by ['...'].
 */
export function groupLabels(route: ResolvedRoute, labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  const keys = route.groupByAll ? Object.keys(labels) : route.groupBy;
  for (const key of keys) {
    const value = labels[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/**
 * The key of the group an alert joins on a route: the route's id, its receiver and the group
 * labels in a stable order, so the same labels in any order give the same key.
 */
export function groupKey(route: ResolvedRoute, labels: Labels): string {
  return `${route.id}:${route.receiver}:${formatLabels(groupLabels(route, labels))}`;
}
