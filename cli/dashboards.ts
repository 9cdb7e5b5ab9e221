// `halo dashboards build`: writes the dashboards and the Grafana provisioning files, then prints
// one line per file and the notes the operator must read (stdout for files, stderr for notes).

import type { HaloConfig } from '../core/config/schema.ts';
import { buildDashboards } from '../dashboards/build.ts';

export interface DashboardsBuildOptions {
  out: string;
  user?: string;
  clickhouseUrl?: string;
  dashboardsPath?: string;
}

export interface DashboardsBuildOutput {
  stdout: string;
  stderr: string;
}

export function dashboardsBuild(
  config: Pick<HaloConfig, 'clickhouse'>,
  options: DashboardsBuildOptions,
): DashboardsBuildOutput {
  const { files, notes } = buildDashboards({
    outDir: options.out,
    config,
    ...(options.user !== undefined ? { user: options.user } : {}),
    ...(options.clickhouseUrl !== undefined ? { clickhouseUrl: options.clickhouseUrl } : {}),
    ...(options.dashboardsPath !== undefined ? { dashboardsPath: options.dashboardsPath } : {}),
  });
  return {
    stdout: files.map((file) => `wrote ${file}\n`).join(''),
    stderr: notes.map((note) => `halo: note: ${note}\n`).join(''),
  };
}
