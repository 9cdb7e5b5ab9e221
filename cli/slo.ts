// `halo slo check FILE…`: validates SLO specs (halo/v1 or OpenSLO v1) and prints, per SLO and
// burn-rate tier, how fast a total outage and a given error rate are detected and at what cost.

import { describeSlo, formatCheck } from '../alerter/slo/check.ts';
import { loadAnySloFile } from '../alerter/slo/load.ts';
import type { Slo } from '../alerter/slo/spec.ts';
import { ConfigError } from '../core/errors.ts';
import { formatDuration } from '../core/units.ts';

/** "2%" or "0.02" → 0.02. */
export function parseErrorRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  const value = match ? Number(match[1]) / (match[2] ? 100 : 1) : NaN;
  if (!(value > 0 && value <= 1)) {
    throw new ConfigError(
      `--error-rate: got ${JSON.stringify(text)}, expected a rate like 2% or 0.02 (above 0, at most 100%)`,
    );
  }
  return value;
}

function windowText(slo: Slo): string {
  const w = slo.window;
  return w.kind === 'calendar'
    ? `calendar ${w.unit} (${w.timeZone})`
    : `rolling ${formatDuration(w.periodMs)}`;
}

/** Reads every file, then prints one table per SLO; the first invalid file stops with its error. */
export function sloCheck(files: readonly string[], errorRate: number): string {
  const out: string[] = [];
  for (const file of files) {
    const { slos, warnings } = loadAnySloFile(file);
    for (const warning of warnings) out.push(`warning: ${warning}`);
    for (const slo of slos) {
      out.push(
        `SLO ${slo.name} (service ${slo.service}, objective ${slo.objective}%, ${windowText(slo)}) from ${slo.source}`,
      );
      out.push(formatCheck(describeSlo(slo, { errorRate })), '');
    }
  }
  return `${out.join('\n')}\n`;
}
