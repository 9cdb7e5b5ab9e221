// The burn-rate tier table (data in windows/sre-workbook.yaml), scaled to an SLO's period.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import { parseDuration } from '../../core/units.ts';
import { zonedDate } from '../../core/zoned-time.ts';
import { parseWith, readYamlDocuments, type Slo, type SloWindow } from './spec.ts';

export interface BurnRateTier {
  name: string;
  severity: 'page' | 'ticket';
  /** Burn rate (multiple of the sustainable error rate) both windows must reach. */
  factor: number;
  longWindowMs: number;
  shortWindowMs: number;
}

/** A tier of the table: the share of the budget it lets burn in its long window. */
export interface TableTier {
  name: string;
  severity: 'page' | 'ticket';
  budgetFraction: number;
  longWindowMs: number;
  shortWindowMs: number;
}

export interface TierTable {
  periodMs: number;
  tiers: TableTier[];
}

export const WORKBOOK_FILE = new URL('./windows/sre-workbook.yaml', import.meta.url);

const durationText = z.string({ error: 'expected a duration' }).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration like "1h"', input: value });
    return z.NEVER;
  }
  return ms;
});

const tableSchema = z.strictObject({
  apiVersion: z.literal('halo/v1', { error: 'expected "halo/v1"' }),
  kind: z.literal('BurnRateTiers', { error: 'expected "BurnRateTiers"' }),
  spec: z.strictObject({
    period: durationText,
    tiers: z
      .array(
        z.strictObject({
          name: z.string({ error: 'expected a name' }),
          severity: z.enum(['page', 'ticket'], { error: 'expected page or ticket' }),
          budget_percent: z
            .number({ error: 'expected a percentage' })
            .gt(0, { error: 'expected a percentage above 0' })
            .max(100, { error: 'expected a percentage up to 100' }),
          long_window: durationText,
          short_window: durationText,
        }),
      )
      .min(1, { error: 'expected at least one tier' }),
  }),
});

/** Parses a tier table; `label` names the file in errors. */
export function parseTierTable(text: string, label: string): TierTable {
  const [doc] = readYamlDocuments(text, label);
  if (!doc) throw new ConfigError(`${label}: expected a BurnRateTiers document`);
  const { spec } = parseWith(tableSchema, doc);
  return {
    periodMs: spec.period,
    tiers: spec.tiers.map((t) => ({
      name: t.name,
      severity: t.severity,
      budgetFraction: t.budget_percent / 100,
      longWindowMs: t.long_window,
      shortWindowMs: t.short_window,
    })),
  };
}

let workbook: TierTable | undefined;

/** The SRE workbook table, read once from the YAML file next to this module. */
export function workbookTable(): TierTable {
  workbook ??= parseTierTable(readFileSync(WORKBOOK_FILE, 'utf8'), fileURLToPath(WORKBOOK_FILE));
  return workbook;
}

/**
 * The length of an SLO window. A calendar window has the nominal length (whole days) of the
 * month or quarter that holds `now` in its time zone: DST shifts do not change the budget.
 */
export function periodMs(window: SloWindow, now: Date = new Date()): number {
  if (window.kind === 'rolling') return window.periodMs;
  const { year, month } = zonedDate(window.timeZone, now.getTime());
  const first = window.unit === 'month' ? month : month - ((month - 1) % 3);
  const months = window.unit === 'month' ? 1 : 3;
  return Date.UTC(year, first - 1 + months, 1) - Date.UTC(year, first - 1, 1);
}

/**
 * The tiers for an SLO period: windows scaled by period / table period, so each tier still
 * spends the same share of the budget in its long window and keeps its burn factor.
 */
export function tiersFor(period: number, table: TierTable = workbookTable()): BurnRateTier[] {
  const scale = period / table.periodMs;
  return table.tiers.map((t) => ({
    name: t.name,
    severity: t.severity,
    factor: roundFactor((t.budgetFraction * table.periodMs) / t.longWindowMs),
    longWindowMs: Math.round(t.longWindowMs * scale),
    shortWindowMs: Math.round(t.shortWindowMs * scale),
  }));
}

/** The SLO's own tiers when it overrides the table, else the table scaled to its period. */
export function tiersForSlo(slo: Slo, now: Date = new Date()): BurnRateTier[] {
  return slo.burnRateTiers ?? tiersFor(periodMs(slo.window, now));
}

/** 0.02 × 720h / 1h is 14.400000000000002 in floating point; the table means 14.4. */
function roundFactor(factor: number): number {
  return Number(factor.toPrecision(12));
}
