// The Halo half of bench/compare: `halo up` in this process on a fresh data dir (embedded
// ClickHouse, local nats-server, no demo, an agent with no sources), the payload POSTed to its
// Prometheus text import by curl, timed until the samples table holds every sample it should.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haloConfigSchema } from '../cli/config-schema.ts';
import { startHalo } from '../cli/up.ts';
import { silentLogger } from '../core/logger.ts';
import { SAMPLE_COLUMNS, SAMPLE_STRUCTURE } from '../core/store/encode-samples.ts';
import { literal } from '../core/store/fast-write.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { cpuSecondsOf, timeImport } from './compare-process.ts';
import type { HalfResult } from './compare-vm.ts';

export interface HaloResult extends HalfResult {
  /** nats-server's CPU over the same time (a process of its own). */
  natsCpuSeconds: number;
  /** Halo's own /metrics at the end, for where the time went. */
  metrics: string;
}

/** The payload's service label: Halo's self-scrape (service "halo") is left out of the count. */
const SERVICE = 'node';

/** The payload's rows as stored, in the order a scrape-major import stores them. */
async function exportRows(store: Store, path: string): Promise<void> {
  if (!store.engine) throw new Error('expected the embedded store');
  const columns = SAMPLE_COLUMNS.map((c) =>
    c === 'labels' ? `CAST(labels, 'Map(String, String)')` : c,
  );
  await store.engine.queryAsync(
    `INSERT INTO FUNCTION file(${literal(path)}, 'RowBinary', ${literal(SAMPLE_STRUCTURE)}) ` +
      `SELECT ${columns.join(', ')} FROM ${store.table('samples')} ` +
      `WHERE service = ${literal(SERVICE)} ORDER BY ts, host, name`,
  );
}

/**
 * Runs the import; with `rowsFile`, also writes the rows stored from it there at the end (RowBinary
 * in SAMPLE_STRUCTURE, in time order) for bench/compare-store.
 */
export async function runHalo(
  file: string,
  expected: number,
  rowsFile?: string,
): Promise<HaloResult> {
  const dir = mkdtempSync(join(tmpdir(), 'halo-bench-compare-'));
  const token = randomBytes(24).toString('hex');
  const config = haloConfigSchema.parse({
    data_dir: dir,
    log: { level: 'silent' },
    http: { port: 0 },
    // The self-scrape is the only source; once a minute keeps it out of the way.
    agent: { tier: 'host', interval: '60s', sources: [], spool: { fsync: false } },
    intake: { tokens: [{ name: 'bench', token }] },
  });
  const running = await startHalo(config, silentLogger());
  const { store } = running;
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  try {
    const count = async () =>
      Number(
        (
          await store.query<{ n: string }>(
            sql`SELECT count() AS n FROM ${ident(store.table('samples'))} WHERE service = ${SERVICE}`,
          )
        )[0]?.n ?? 0,
      );
    const natsPid = running.localNats?.pid;
    const natsBefore = natsPid ? cpuSecondsOf(natsPid) : 0;
    const cpuBefore = process.cpuUsage();
    const timed = await timeImport({
      name: 'Halo',
      url: `${running.http.url}/api/v1/import/prometheus`,
      file,
      headers: { Authorization: `Bearer ${token}` },
      expected,
      everyMs: 200,
      count,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const natsCpuSeconds = natsPid ? cpuSecondsOf(natsPid) - natsBefore : 0;
    const { status, answeredSeconds } = await timed.answer;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const metrics = await (await fetch(`${running.http.url}/metrics`)).text();
    if (rowsFile !== undefined) await exportRows(store, rowsFile);
    return {
      seconds: timed.seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      natsCpuSeconds,
      peakRssMiB: peakRss / 2 ** 20,
      counted: timed.counted,
      status,
      answeredSeconds,
      metrics,
    };
  } finally {
    clearInterval(rssTimer);
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
