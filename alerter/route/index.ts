// The routing stage: the route tree config, the routes and groups an alert takes, load checks and `halo route test`.

export * from './matchers.ts';
export { checkRoot, routeSpecSchema, routeTreeSchema, type RouteSpec } from './schema.ts';
export {
  GROUP_BY_ALL,
  ROUTE_DEFAULTS,
  groupKey,
  groupLabels,
  matchRoutes,
  resolveRouteTree,
  walkRoutes,
  type ResolvedRoute,
  type RouteTree,
} from './tree.ts';
export { addRouteIssues, assertRoutes, validateRoutes, type RouteIssue } from './validate.ts';
export { formatRouteTest, LabelArgsError, parseLabelArgs } from './route-test.ts';
