// Every panel of every dashboard on data that came through the real agents, bus, ingester and
// alerter: golden JSON, structural checks, and each query's result fitting its panel.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inDatabase } from '../dashboards/build.ts';
import { DASHBOARDS, dashboardJson } from '../dashboards/index.ts';
import { expandMacros, type MacroContext } from '../dashboards/macros.ts';
import { checkDashboard } from '../dashboards/structure.ts';
import { allPanels, variableValues } from '../bench/dashboards-grafana.ts';
import { isNumber, isTime } from './helpers/dashboard-queries.ts';
import { seedHaStack, TIERS, type SeededStack } from './helpers/ha-stack.ts';

interface Target {
  refId: string;
  rawSql: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  options?: Array<{ value: string }>;
  current?: { value?: string | string[] };
}
interface Json {
  uid: string;
  panels: Panel[];
  templating?: { list?: Variable[] };
}
interface Result {
  meta: Array<{ name: string; type: string }>;
  data: Array<Record<string, unknown>>;
}

const golden = (file: string) =>
  fileURLToPath(new URL(`./fixtures/dashboards/${file}`, import.meta.url));

const panelsOf = (panels: Panel[]): Panel[] => allPanels(panels) as Panel[];

const isText = (type: string): boolean =>
  /^(LowCardinality\()?(Nullable\()?(String|Enum|FixedString)/.test(type);

const dashboards = DASHBOARDS.map((d) => [d.file, d, dashboardJson(d) as unknown as Json] as const);

describe.each(dashboards)('%s', (file, _, json) => {
  it('matches its golden JSON (UPDATE_GOLDEN=1 rewrites it)', () => {
    if (process.env['UPDATE_GOLDEN'] === '1') {
      writeFileSync(golden(file), `${JSON.stringify(json, null, 2)}\n`);
    }
    expect(json).toEqual(JSON.parse(readFileSync(golden(file), 'utf8')));
  });

  it('has unique panel ids, no overlaps, a datasource on every target, its variables defined', () => {
    expect(checkDashboard(json)).toEqual([]);
  });

  it('describes every panel and gives every query panel a target', () => {
    for (const p of panelsOf(json.panels)) {
      if (p.type === 'row') continue;
      expect(p.title, `panel ${p.id}`).not.toBe('');
      expect((p as { description?: string }).description, `panel ${p.id} ${p.title}`).toBeTruthy();
      expect(p.targets?.length ?? 0, `panel ${p.id} ${p.title}`).toBeGreaterThan(0);
    }
  });
});

// Panels whose data the seeded stack cannot produce, each with the reason.
const CGROUP_V2 =
  'the container source reads cgroup v2 files (memory.*, io.stat); a machine on cgroup v1, or a ' +
  'test cgroup without those controllers, has none';
const MAY_BE_EMPTY: Record<string, string> = {
  'containers.json#12': 'no test cgroup has a cpu.max quota, so none has CFS periods',
  'containers.json#21': CGROUP_V2,
  'containers.json#22': CGROUP_V2,
  'containers.json#31': CGROUP_V2,
  'containers.json#32': CGROUP_V2,
  'logs.json#13': 'the lines of one trace: the trace id textbox is empty until someone types one',
  'self.json#24': 'no agent drops an invalid sample or fails a source on the healthy stack',
  'self.json#36':
    'redelivered batches (B) need an ingester crash; test/ingest-crash.test.ts has one',
  'self.json#52': 'every notification of the seeded stack is delivered',
};

describe('every panel on a seeded HA stack', () => {
  let stack: SeededStack;
  beforeAll(async () => {
    stack = await seedHaStack();
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const run = async (sql: string, ctx: MacroContext): Promise<Result> => {
    const result = await stack.store.client.query({
      query: expandMacros(sql, ctx),
      format: 'JSON',
    });
    return (await result.json()) as Result;
  };

  /** Each variable at "All", in dashboard order, as Grafana sends it. */
  async function variables(json: Json, ctx: Omit<MacroContext, 'variables'>) {
    const values = await variableValues(stack.store, json.templating?.list ?? [], ctx);
    for (const v of json.templating?.list ?? []) {
      if (v.type === 'query' || v.type === 'custom') {
        const value = values[v.name];
        const options =
          value && typeof value === 'object' && 'all' in value ? value.options : value;
        expect(options, `variable ${v.name} of ${json.uid}`).not.toEqual([]);
      }
    }
    return values;
  }

  const ranges = [
    ['the seeded minutes (raw samples)', 'raw'],
    ['the last day (minute rollup)', 'day'],
  ] as const;

  it.each(ranges)('over %s, every query returns data shaped for its panel', async (_, which) => {
    const seenTiers = new Set<string>();
    const failures: string[] = [];
    for (const [file, , built] of dashboards) {
      // The stack's store has its own database; the build names it as `halo dashboards build` does.
      const json = inDatabase(
        built as unknown as Record<string, unknown>,
        stack.database,
      ) as unknown as Json;
      const range =
        which === 'raw'
          ? { from: stack.from - 60_000, to: stack.to + 60_000, intervalMs: 1000 }
          : { from: stack.to + 60_000 - 86_400_000, to: stack.to + 60_000, intervalMs: 60_000 };
      const vars = await variables(json, range);
      for (const panel of panelsOf(json.panels)) {
        for (const target of panel.targets ?? []) {
          const name = `${file} panel ${panel.id} "${panel.title}" ${target.refId}`;
          let result: Result;
          try {
            result = await run(target.rawSql, { ...range, variables: vars });
          } catch (err) {
            failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
            continue;
          }
          const { meta, data } = result;
          const problem = shapeProblem(panel.type, meta, data);
          if (problem) failures.push(`${name}: ${problem}`);
          if (data.length === 0 && MAY_BE_EMPTY[`${file}#${panel.id}`] === undefined) {
            failures.push(`${name}: no data`);
          }
          for (const row of data) if (typeof row['tier'] === 'string') seenTiers.add(row['tier']);
        }
      }
    }
    expect(failures).toEqual([]);
    expect([...seenTiers].sort()).toEqual([...TIERS].sort());
  });
});

/** What is wrong with a result for a panel type, or undefined when it fits. */
function shapeProblem(
  type: string,
  meta: Result['meta'],
  data: Result['data'],
): string | undefined {
  const columns = meta.map((c) => `${c.name} ${c.type}`).join(', ');
  switch (type) {
    case 'timeseries': {
      const [first, ...rest] = meta;
      if (!first || !isTime(first.type)) return `the first column is not a time: ${columns}`;
      if (!rest.some((c) => isNumber(c.type))) return `no numeric column: ${columns}`;
      if (!rest.every((c) => isNumber(c.type) || isText(c.type)))
        return `a column is neither a number nor a label: ${columns}`;
      return undefined;
    }
    case 'stat':
    case 'gauge':
    case 'bargauge':
      if (data.length > 1) return `${data.length} rows, a stat wants one`;
      if (!meta.every((c) => isNumber(c.type))) return `a column is not a number: ${columns}`;
      return undefined;
    case 'table':
      if (!meta.every((c) => /^[a-z][a-z0-9_ %/]*$/i.test(c.name)))
        return `a column has no plain name: ${columns}`;
      return undefined;
    case 'logs':
      if (!meta.some((c) => isTime(c.type))) return `no time column: ${columns}`;
      if (!meta.some((c) => isText(c.type))) return `no text column: ${columns}`;
      return undefined;
    default:
      return `panel type ${type} is not checked here`;
  }
}
