// Every dashboard Halo ships, in the order Grafana lists them, each with its file name.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { appDashboard } from './app.ts';
import { cacheDashboard } from './cache.ts';
import { containersDashboard } from './containers.ts';
import { dbDashboard } from './db.ts';
import { hostsDashboard } from './hosts.ts';
import { lbDashboard } from './lb.ts';
import { logsDashboard } from './logs.ts';
import { mqDashboard } from './mq.ts';
import { overviewDashboard } from './overview.ts';
import { selfDashboard } from './self.ts';
import { sloDashboard } from './slos.ts';
import { webDashboard } from './web.ts';

export interface HaloDashboard {
  /** File name under the output directory, e.g. `slos.json`. */
  file: string;
  build: () => dashboard.DashboardBuilder;
}

/** The overview first, then the tiers top to bottom, then SLOs, logs and Halo itself. */
export const DASHBOARDS: readonly HaloDashboard[] = [
  { file: 'overview.json', build: overviewDashboard },
  { file: 'lb.json', build: lbDashboard },
  { file: 'web.json', build: webDashboard },
  { file: 'cache.json', build: cacheDashboard },
  { file: 'db.json', build: dbDashboard },
  { file: 'mq.json', build: mqDashboard },
  { file: 'app.json', build: appDashboard },
  { file: 'hosts.json', build: hostsDashboard },
  { file: 'containers.json', build: containersDashboard },
  { file: 'slos.json', build: sloDashboard },
  { file: 'logs.json', build: logsDashboard },
  { file: 'self.json', build: selfDashboard },
];

/** A dashboard as Grafana receives it: builder output without functions or undefined fields. */
export function dashboardJson(d: HaloDashboard): Record<string, unknown> {
  return JSON.parse(JSON.stringify(d.build().build())) as Record<string, unknown>;
}
