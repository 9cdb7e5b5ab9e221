// `halo slo backtest FILE… --from --to`: replays SLOs' burn-rate tiers over the stored history
// (opening the store like `halo migrate` does) and prints when each would have fired and resolved.

import { backtest } from '../alerter/slo/backtest.ts';
import { loadSlos } from '../alerter/slo/load.ts';
import { ConfigError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { openStore } from '../core/store/store.ts';
import { formatDuration, parseDuration } from '../core/units.ts';
import type { FullConfig } from './config-schema.ts';

/** An ISO 8601 time, or a duration before `now` ("7d" → seven days ago). */
export function parseTime(text: string, option: string, now: number): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/\d{4}-\d{2}-\d{2}/.test(text)) {
    throw new ConfigError(
      `${option}: got ${JSON.stringify(text)}, expected an ISO 8601 time like 2026-11-01T00:00:00Z or a duration ago like 7d`,
    );
  }
  return at;
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

export async function runBacktest(
  config: FullConfig,
  files: readonly string[],
  opts: { from: string; to: string; step: string; slo?: string },
  now: number = Date.now(),
): Promise<string> {
  const from = parseTime(opts.from, '--from', now);
  const to = parseTime(opts.to, '--to', now);
  if (to <= from)
    throw new ConfigError(`--to: got ${iso(to)}, expected a time after --from (${iso(from)})`);
  const step = parseDuration(opts.step);
  if (step === undefined || step < 1000) {
    throw new ConfigError(
      `--step: got ${JSON.stringify(opts.step)}, expected a duration of at least 1s like 1m`,
    );
  }
  let { slos } = loadSlos(files);
  if (opts.slo !== undefined) {
    slos = slos.filter((s) => s.name === opts.slo);
    if (slos.length === 0)
      throw new ConfigError(`--slo: got "${opts.slo}", expected the name of an SLO in the files`);
  }
  const store = await openStore({ config, logger: silentLogger() });
  try {
    const firings = await backtest(store, slos, from, to, step);
    const lines = [
      `backtest of ${slos.length} SLO(s) from ${iso(from)} to ${iso(to)} every ${formatDuration(step)}: ${firings.length} firing(s)`,
    ];
    for (const f of firings) {
      const instance = Object.entries(f.labels)
        .filter(([k]) => !['alertname', 'slo', 'service', 'severity', 'burn_tier'].includes(k))
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const end =
        f.resolvedAt === undefined
          ? 'still firing'
          : `resolved ${iso(f.resolvedAt)} (after ${formatDuration(f.resolvedAt - f.firedAt)})`;
      lines.push(
        `${f.slo}${instance ? ` {${instance}}` : ''} ${f.tier} (${f.severity}): fired ${iso(f.firedAt)}, ${end}, peak burn ${f.peakBurnRate.toFixed(1)}×`,
      );
    }
    return `${lines.join('\n')}\n`;
  } finally {
    await store.close();
  }
}
