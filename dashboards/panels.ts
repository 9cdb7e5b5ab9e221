// Panel shorthands shared by the dashboards: time series, stats, tables and rows on the Halo
// datasource, with units, thresholds, legends and links set the same way everywhere.

import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as LogsPanelBuilder } from '@grafana/grafana-foundation-sdk/logs';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import type { ClickHouseQueryKind } from './clickhouse-query.ts';
import { SIZE, datasource, query, thresholds } from './common.ts';

/** What every panel states: a stable id (links and golden files rely on it), title, help. */
export interface PanelBase {
  id: number;
  title: string;
  description: string;
  /** Grid columns (of 24) and rows. */
  width?: number;
  height?: number;
  /** A Grafana unit: `reqps`, `percentunit`, `bytes`, `s`, `short`, … */
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  /** Colour steps above a base colour: `[[0.01, 'orange'], [0.05, 'red']]`. */
  steps?: ReadonlyArray<readonly [number, string]>;
  /** The base colour under the first step: green unless told. */
  base?: string;
  /** Links on the panel's values (Grafana data links), e.g. to a host's dashboard. */
  links?: readonly DataLink[];
}

export interface DataLink {
  title: string;
  /** A Grafana URL; `${__field.labels.host}`, `${__data.fields.host}`, `${__url_time_range}` work. */
  url: string;
}

/** Query text, or several with their own refIds (A, B, … unless told). */
export type Targets = string | ReadonlyArray<string | { sql: string; refId: string }>;

function targetsOf(targets: Targets, kind: ClickHouseQueryKind) {
  const list = typeof targets === 'string' ? [targets] : targets;
  return list.map((t, i) =>
    typeof t === 'string'
      ? query(t, kind, String.fromCharCode(65 + i))
      : query(t.sql, kind, t.refId),
  );
}

type Common = TimeseriesPanelBuilder | StatPanelBuilder | TablePanelBuilder | LogsPanelBuilder;

function base<P extends Common>(panel: P, o: PanelBase, width: number, height: number): P {
  panel
    .id(o.id)
    .title(o.title)
    .description(o.description)
    .datasource(datasource())
    .span(o.width ?? width)
    .height(o.height ?? height);
  return panel;
}

function fields<P extends TimeseriesPanelBuilder | StatPanelBuilder | TablePanelBuilder>(
  panel: P,
  o: PanelBase,
): P {
  if (o.unit !== undefined) panel.unit(o.unit);
  if (o.decimals !== undefined) panel.decimals(o.decimals);
  if (o.min !== undefined) panel.min(o.min);
  if (o.max !== undefined) panel.max(o.max);
  if (o.steps !== undefined) panel.thresholds(thresholds(o.base ?? 'green', o.steps));
  if (o.links !== undefined && o.links.length > 0) {
    // The SDK types field links as dashboard links; Grafana reads title, url and targetBlank.
    panel.dataLinks(
      o.links.map((l) => ({
        build: () =>
          ({ title: l.title, url: l.url, targetBlank: false }) as dashboard.DashboardLink,
      })),
    );
  }
  return panel;
}

export interface TimeseriesOptions extends PanelBase {
  targets: Targets;
  /** Stack the series (e.g. CPU modes, response classes). */
  stacked?: boolean;
  /** Draw the thresholds as dashed lines. */
  drawSteps?: boolean;
  /** The legend as a table with these calculations, e.g. ['mean', 'max', 'lastNotNull']. */
  legendCalcs?: string[];
}

export function timeseries(o: TimeseriesOptions): TimeseriesPanelBuilder {
  const panel = fields(base(new TimeseriesPanelBuilder(), o, SIZE.half, SIZE.graphHeight), o);
  for (const t of targetsOf(o.targets, 'timeseries')) panel.withTarget(t);
  panel
    .fillOpacity(o.stacked ? 40 : 10)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never);
  if (o.stacked) {
    panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  }
  if (o.drawSteps) {
    panel.thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    );
  }
  const legend = new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .placement(common.LegendPlacement.Bottom)
    .displayMode(o.legendCalcs ? common.LegendDisplayMode.Table : common.LegendDisplayMode.List)
    .calcs(o.legendCalcs ?? []);
  panel.legend(legend);
  panel.tooltip(
    new common.VizTooltipOptionsBuilder()
      .mode(common.TooltipDisplayMode.Multi)
      .sort(common.SortOrder.Descending),
  );
  return panel;
}

export interface StatOptions extends PanelBase {
  targets: Targets;
  /** Colour the background (status-like stats) instead of the value. */
  background?: boolean;
  /** Text for values, e.g. `[[1, 'UP', 'green'], [0, 'DOWN', 'red']]`. */
  valueText?: ReadonlyArray<readonly [number, string, string]>;
}

export function stat(o: StatOptions): StatPanelBuilder {
  const panel = fields(base(new StatPanelBuilder(), o, SIZE.quarter, SIZE.statHeight / 2 + 1), o);
  for (const t of targetsOf(o.targets, 'table')) panel.withTarget(t);
  panel
    .colorMode(o.background ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (o.valueText) {
    const options: Record<string, { text: string; color: string; index: number }> = {};
    o.valueText.forEach(([value, text, color], index) => {
      options[String(value)] = { text, color, index };
    });
    panel.mappings([{ type: dashboard.MappingType.ValueToText, options }]);
  }
  return panel;
}

export interface TableOptions extends PanelBase {
  targets: Targets;
  /** Column → unit, for columns other than the panel's unit. */
  columnUnits?: Readonly<Record<string, string>>;
  /** Sort by this column, descending. */
  sortBy?: string;
}

export function table(o: TableOptions): TablePanelBuilder {
  const panel = fields(base(new TablePanelBuilder(), o, SIZE.full, SIZE.tableHeight), o);
  for (const t of targetsOf(o.targets, 'table')) panel.withTarget(t);
  for (const [column, unit] of Object.entries(o.columnUnits ?? {})) {
    panel.overrideByName(column, [{ id: 'unit', value: unit }]);
  }
  if (o.sortBy) {
    panel.sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy).desc(true)]);
  }
  panel.filterable(true);
  return panel;
}

export interface LogsOptions extends Omit<
  PanelBase,
  'unit' | 'decimals' | 'min' | 'max' | 'steps'
> {
  targets: Targets;
}

export function logs(o: LogsOptions): LogsPanelBuilder {
  const panel = base(new LogsPanelBuilder(), o, SIZE.full, SIZE.tableHeight * 2);
  for (const t of targetsOf(o.targets, 'logs')) panel.withTarget(t);
  return panel
    .showTime(true)
    .wrapLogMessage(true)
    .sortOrder(common.LogsSortOrder.Descending)
    .enableLogDetails(true);
}

/** A row header; the panels added after it belong to it. */
/** A dashboard's sections in order: each a row (its id and title) followed by its panels. */
export type Sections = ReadonlyArray<
  readonly [id: number, title: string, panels: ReadonlyArray<cog.Builder<dashboard.Panel>>]
>;

/** Adds each section's row and then its panels to the dashboard. */
export function withSections(
  builder: dashboard.DashboardBuilder,
  sections: Sections,
): dashboard.DashboardBuilder {
  for (const [id, title, panels] of sections) {
    builder.withRow(row(id, title));
    for (const panel of panels) builder.withPanel(panel);
  }
  return builder;
}

export function row(id: number, title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title).id(id);
}

/** A link between dashboards: to one by uid, keeping the time range and the variables. */
export function dashboardLink(title: string, uid: string): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(title)
    .type(dashboard.DashboardLinkType.Link)
    .url(`/d/${uid}`)
    .keepTime(true)
    .includeVars(true)
    .asDropdown(false)
    .targetBlank(false)
    .icon('dashboard');
}

/** Every Halo dashboard in one dropdown, by the `halo` tag. */
export function haloLinks(): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder('Halo')
    .type(dashboard.DashboardLinkType.Dashboards)
    .tags(['halo'])
    .asDropdown(true)
    .keepTime(true)
    .includeVars(false)
    .targetBlank(false);
}

/** A new Halo dashboard with the settings every one shares. */
export function haloDashboard(
  uid: string,
  title: string,
  tags: string[],
): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .tags(['halo', ...tags])
    .readonly()
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(haloLinks());
}
