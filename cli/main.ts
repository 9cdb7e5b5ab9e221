// The `halo` command line: the roles, migrate, config check, SLO, route and silence tools, version. Errors print one line and exit non-zero.

import { Command } from 'commander';
import { stringify } from 'yaml';
import { loadConfig, type LoadedConfig } from '../core/config/load.ts';
import { ConfigError, HaloError, errorMessage } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { VERSION } from '../core/version.ts';
import { haloConfigSchema, type FullConfig } from './config-schema.ts';
import { parseDuration } from '../core/units.ts';
import { demoDefaults, demoToken } from './demo/config.ts';
import type { ReportOptions } from './report.ts';
import type { UpOptions } from './up.ts';

// Each role is loaded when its command runs, so that an agent does not carry the store's
// client (or the embedded engine) in memory.

function load(
  command: Command,
  defaults?: (config: FullConfig) => Record<string, unknown>,
): LoadedConfig<FullConfig> {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  const options = {
    schema: haloConfigSchema,
    ...(config !== undefined ? { path: config } : {}),
  };
  const loaded = loadConfig(options);
  // Defaults that depend on the config itself (its data dir): read it once without them.
  // A notify section of the file is a whole routing tree: the demo's does not merge into it.
  return defaults
    ? loadConfig({ ...options, defaults: defaults(loaded.config), wholeSections: ['notify'] })
    : loaded;
}

/** The demo's settings where the config is silent, with its write token kept in the data dir. */
function demoLoad(config: FullConfig): Record<string, unknown> {
  const { token } = demoToken(config.data_dir);
  const host = config.http.address === '0.0.0.0' ? '127.0.0.1' : config.http.address;
  return demoDefaults({
    token,
    externalUrl: `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}`,
  });
}

interface DemoAppFlags {
  address: string;
  port: string;
  logFile?: string;
  traffic?: string;
  rps: string;
}

interface UpFlags {
  demo: boolean;
  incidentAfter: string;
  incidentErrorsFor: string;
  incidentDownFor: string;
  rps: string;
  backfill?: string;
}

function flagDuration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new ConfigError(`${flag}: expected a duration like 30s or 3m`);
  return ms;
}

/** --rps of the demo's traffic. */
function flagRps(text: string): number {
  const rps = Number(text);
  if (!Number.isFinite(rps) || rps <= 0 || rps > 10_000) {
    throw new ConfigError('--rps: expected a number of requests per second from 1 to 10000');
  }
  return rps;
}

function upOptions(flags: UpFlags): UpOptions {
  if (!flags.demo) {
    if (flags.backfill !== undefined) throw new ConfigError('--backfill: needs the demo');
    return {};
  }
  const rps = flagRps(flags.rps);
  const off = flags.incidentAfter === 'off';
  return {
    demo: {
      rps,
      ...(off ? {} : { incidentAfterMs: flagDuration('--incident-after', flags.incidentAfter) }),
      errorsForMs: flagDuration('--incident-errors-for', flags.incidentErrorsFor),
      downForMs: flagDuration('--incident-down-for', flags.incidentDownFor),
      ...(flags.backfill !== undefined
        ? { backfillMs: flagDuration('--backfill', flags.backfill) }
        : {}),
    },
  };
}

/** Runs a long-lived role until SIGINT or SIGTERM; a signal during start-up stops it too. */
async function serve(
  command: Command,
  start: (config: FullConfig, logger: Logger) => Promise<() => Promise<void>>,
  defaults?: (config: FullConfig) => Record<string, unknown>,
): Promise<void> {
  const { config } = load(command, defaults);
  const logger = createLogger({ level: config.log.level });
  // Set once start-up is done; the signal handlers below need it before then.
  const state: { stop?: () => Promise<void> } = {};
  let stopping = false;
  const stop = async () => {
    await state.stop?.();
    logger.info('stopped');
    process.exit(0);
  };
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    if (state.stop) stop().catch(fail);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  state.stop = await start(config, logger);
  if (stopping) await stop();
}

function fail(err: unknown): never {
  const message = err instanceof HaloError ? err.message : `unexpected error: ${errorMessage(err)}`;
  process.stderr.write(`halo: ${message.split('\n').join('\nhalo: ')}\n`);
  if (!(err instanceof HaloError) && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
  process.exit(err instanceof ConfigError ? 2 : 1);
}

async function runMigrate(command: Command): Promise<void> {
  const { config } = load(command);
  const logger = createLogger({ level: config.log.level });
  const { openStore } = await import('../core/store/store.ts');
  const { migrate } = await import('../core/store/migrate.ts');
  const store = await openStore({ config, logger });
  try {
    const result = await migrate(store, config, logger);
    const applied =
      result.applied.length > 0 ? result.applied.join(', ') : 'none (schema up to date)';
    process.stdout.write(`migrations applied: ${applied}\n`);
    if (result.ttlUpdated.length > 0) {
      process.stdout.write(`retention changed: ${result.ttlUpdated.join(', ')}\n`);
    }
  } finally {
    await store.close();
  }
}

function configCheck(command: Command): void {
  const loaded = load(command);
  // JSON first: Secret, Duration and ByteSize print as their masked or written text.
  const effective = JSON.parse(JSON.stringify(loaded.config)) as unknown;
  const source = loaded.file ?? 'no config file (defaults)';
  const lines = [`# config OK: ${source}`];
  for (const [key, variable] of Object.entries(loaded.fromEnv)) {
    lines.push(`# ${key} from env ${variable}`);
  }
  process.stdout.write(`${lines.join('\n')}\n${stringify(effective)}`);
}

export function buildProgram(): Command {
  const program = new Command('halo')
    .description('Observability and alerting for highly available web systems')
    .option('-c, --config <path>', 'config file (default: ./halo.yaml when present)')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  program
    .command('up')
    .description(
      'run every role in one process (embedded ClickHouse and a local nats-server by default), with a demo HA stack',
    )
    .option('--no-demo', 'monitor this host only, without the demo HA stack')
    .option(
      '--incident-after <duration>',
      'when the demo\'s scripted incident starts ("off": none)',
      '3m',
    )
    .option('--incident-errors-for <duration>', 'how long web-2 answers 5xx', '2m')
    .option('--incident-down-for <duration>', 'how long web-2 is then down', '3m')
    .option('--rps <number>', 'requests per second through the demo stack', '20')
    .option('--backfill <duration>', 'first write this much demo history (e.g. 30d)')
    .action((opts: UpFlags, command: Command) =>
      serve(
        command,
        async (config, logger) => {
          const { startHalo } = await import('./up.ts');
          return (await startHalo(config, logger, upOptions(opts))).stop;
        },
        opts.demo ? demoLoad : undefined,
      ),
    );

  program
    .command('demo-app')
    .description(
      "run the demo's shop app on its own (compose/'s example stack): its routes, /metrics and JSON logs",
    )
    .option('--address <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8080')
    .option('--log-file <path>', 'write its JSON log lines here')
    .option('--traffic <url>', "send the demo's traffic to this URL (a load balancer)")
    .option('--rps <number>', 'requests per second of --traffic', '20')
    .action(async (opts: DemoAppFlags, command: Command) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) {
        fail(new ConfigError('--port: expected a port from 1 to 65535'));
      }
      const rps = flagRps(opts.rps);
      await serve(command, async (_config, logger) => {
        const { startDemoApp } = await import('./demo/app.ts');
        const app = await startDemoApp({
          address: opts.address,
          port,
          rps,
          logger,
          ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}),
          ...(opts.traffic !== undefined ? { traffic: opts.traffic } : {}),
        });
        return app.stop;
      });
    });

  program
    .command('ingest')
    .description(
      'run the ingester: JetStream into ClickHouse, exactly once (several may share the work)',
    )
    .action((_opts, command: Command) =>
      serve(command, async (config, logger) =>
        (await import('./ingest.ts')).runIngestRole(config, logger),
      ),
    );

  program
    .command('agent')
    .description(
      'run the agent: collect this host and its tier servers, publish to NATS (spools while NATS is away)',
    )
    .action((_opts, command: Command) =>
      serve(command, async (config, logger) =>
        (await import('./agent.ts')).runAgentRole(config, logger),
      ),
    );

  program
    .command('alert')
    .description(
      'run the alerter: SLO burn rates and rules every interval (several may run; one leads through a NATS KV lease)',
    )
    .action((_opts, command: Command) =>
      serve(command, async (config, logger) =>
        (await import('./alert.ts')).runAlertRole(config, logger),
      ),
    );

  program
    .command('migrate')
    .description('apply the ClickHouse schema migrations and retention, then exit')
    .action((_opts, command: Command) => runMigrate(command));

  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate the configuration and print the effective config, secrets masked')
    .action((_opts, command: Command) => configCheck(command));

  const slo = program.command('slo').description('SLO tools');
  slo
    .command('check')
    .description(
      'validate SLO files (halo/v1 or OpenSLO v1) and print each burn-rate tier’s detection times',
    )
    .argument('<files...>', 'SLO files')
    .option('--error-rate <rate>', 'a constant error rate to evaluate besides a total outage', '2%')
    .action(async (files: string[], opts: { errorRate: string }) => {
      const { parseErrorRate, sloCheck } = await import('./slo.ts');
      process.stdout.write(sloCheck(files, parseErrorRate(opts.errorRate)));
    });

  slo
    .command('backtest')
    .description(
      'replay SLOs over stored history and list when each burn-rate tier would have fired and resolved',
    )
    .argument('<files...>', 'SLO files')
    .requiredOption(
      '--from <time>',
      'start, ISO 8601 (e.g. 2026-11-01T00:00:00Z) or a duration ago (e.g. 7d)',
    )
    .option('--to <time>', 'end, ISO 8601 or a duration ago', '0s')
    .option('--step <duration>', 'time between evaluations', '1m')
    .option('--slo <name>', 'only this SLO')
    .action(
      async (
        files: string[],
        opts: { from: string; to: string; step: string; slo?: string },
        command: Command,
      ) => {
        const { runBacktest } = await import('./backtest.ts');
        process.stdout.write(await runBacktest(load(command).config, files, opts));
      },
    );

  program
    .command('report')
    .description(
      'the SLO report of a period (attainment, error budget, burn-down, incidents, top contributors) as html, md, csv, json or pdf',
    )
    .option(
      '--period <period>',
      'a calendar month (2026-10), quarter (2026-Q4) or ISO week (2026-W47)',
    )
    .option('--last <duration>', 'the last N up to now instead (e.g. 7d)')
    .option('--format <format>', 'html, md, csv, json or pdf (pdf needs chromium)', 'html')
    .option('--out <path>', 'write to this file (default: stdout; pdf needs a file)')
    .option(
      '--time-zone <zone>',
      'IANA time zone of calendar periods (default: reports.time_zone, else UTC)',
    )
    .option('--slos <files...>', 'SLO files (default: alerter.slos)')
    .option(
      '--schedule <name>',
      'run a schedule of reports.schedules now: its files and its Slack post',
    )
    .option('--now <time>', 'ISO 8601 time taken as now (default: the clock)')
    .action(async (opts: ReportOptions, command: Command) => {
      const { config } = load(command);
      // Quiet: the store logs at info, and stdout may be the report itself.
      const logger = createLogger({ level: 'warn' });
      const { runReport } = await import('./report.ts');
      process.stdout.write(await runReport(config, logger, opts));
    });

  const route = program.command('route').description('notification routing tools');
  route
    .command('test')
    .description('print the receivers and routes of the notify tree that a label set reaches')
    .argument('[labels...]', 'labels as key=value, e.g. alertname=HostDown severity=page')
    .action(async (labels: string[], _opts, command: Command) => {
      const { routeTest } = await import('./route.ts');
      process.stdout.write(routeTest(load(command).config, labels));
    });

  const silence = program
    .command('silence')
    .description('silences shared by the alerters through NATS KV');
  // Quiet: the store and the connection log at info, and the output is for people and scripts.
  const silenceContext = (command: Command) => ({
    config: load(command).config,
    logger: createLogger({ level: 'warn' }),
  });
  silence
    .command('add')
    .description(
      'mute the alerts all MATCHERs select (e.g. alertname="HostDown" instance=~"db-.*")',
    )
    .argument('<matchers...>', 'label matchers: =, !=, =~ or !~')
    .option('--duration <duration>', 'how long, from the start (e.g. 2h, 1h30m)')
    .option('--end <time>', 'when it ends, ISO 8601 (instead of --duration)')
    .option('--start <time>', 'when it starts, ISO 8601 (default: now)')
    .option('--comment <text>', 'why (required)')
    .option('--author <name>', 'who (default: $USER@hostname)')
    .action(
      async (
        matchers: string[],
        opts: {
          duration?: string;
          end?: string;
          start?: string;
          comment?: string;
          author?: string;
        },
        command: Command,
      ) => {
        const { silenceAdd } = await import('./silence.ts');
        process.stdout.write(await silenceAdd(silenceContext(command), matchers, opts));
      },
    );
  silence
    .command('list')
    .description('list silences: active, then pending, then expired')
    .option('--state <state>', 'only active, pending or expired ones')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { state?: string; json?: boolean }, command: Command) => {
      const { silenceList } = await import('./silence.ts');
      process.stdout.write(await silenceList(silenceContext(command), opts));
    });
  silence
    .command('expire')
    .description('end a pending or active silence now (it stays listed as expired)')
    .argument('<id>', 'the silence id')
    .action(async (id: string, _opts, command: Command) => {
      const { silenceExpire } = await import('./silence.ts');
      process.stdout.write(await silenceExpire(silenceContext(command), id));
    });

  const dashboards = program.command('dashboards').description('Grafana dashboards');
  dashboards
    .command('build')
    .description(
      'write the dashboard JSON and Grafana provisioning files: the ClickHouse datasource, the dashboard provider, the read-only user SQL',
    )
    .option('--out <dir>', 'output directory', './grafana')
    .option('--user <name>', 'the read-only ClickHouse user Grafana queries as', 'halo_grafana')
    .option(
      '--clickhouse-url <url>',
      'ClickHouse as Grafana reaches it: http(s)://host:port or clickhouse://host:9000 (default: clickhouse.url, else http://localhost:8123)',
    )
    .option(
      '--dashboards-path <path>',
      'absolute path where Grafana reads the dashboard files (default: OUT/dashboards, absolute)',
    )
    .action(
      async (
        opts: { out: string; user: string; clickhouseUrl?: string; dashboardsPath?: string },
        command: Command,
      ) => {
        const { dashboardsBuild } = await import('./dashboards.ts');
        const output = dashboardsBuild(load(command).config, opts);
        process.stdout.write(output.stdout);
        process.stderr.write(output.stderr);
      },
    );

  program
    .command('version')
    .description('print the version of halo')
    .action(() => {
      process.stdout.write(`halo ${VERSION} (node ${process.version})\n`);
    });

  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => fail(err));
