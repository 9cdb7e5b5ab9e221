// Every dashboard Halo ships, in the order Grafana lists them, each with its file name.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { sloDashboard } from './slos.ts';

export interface HaloDashboard {
  /** File name under the output directory, e.g. `slos.json`. */
  file: string;
  build: () => dashboard.DashboardBuilder;
}

export const DASHBOARDS: readonly HaloDashboard[] = [{ file: 'slos.json', build: sloDashboard }];

/** A dashboard as Grafana receives it: builder output without functions or undefined fields. */
export function dashboardJson(d: HaloDashboard): Record<string, unknown> {
  return JSON.parse(JSON.stringify(d.build().build())) as Record<string, unknown>;
}
