// Runs the alert role: SLO and rule evaluation on a schedule, with a lease in NATS KV so that of
// several replicas one evaluates, and the alerter API. Also used inside `halo up`.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { Alerter } from '../alerter/alerter.ts';
import { createReceiverMetrics } from '../alerter/receivers/metrics.ts';
import { createAlerterApi } from '../alerter/api.ts';
import { createStatusPage } from '../alerter/status/page.ts';
import { Lease } from '../alerter/ha/lease.ts';
import { createNotifyApi } from '../alerter/api-v2/index.ts';
import { Notifier } from '../alerter/notify/notifier.ts';
import { ReportScheduler } from '../alerter/report/schedule.ts';
import { SilenceStore } from '../alerter/silence/index.ts';
import { canFire, errorBudget } from '../alerter/slo/burn.ts';
import { expandFiles, loadSlos } from '../alerter/slo/load.ts';
import { tiersForSlo } from '../alerter/slo/windows.ts';
import type { Slo } from '../alerter/slo/model.ts';
import type { RuleEvaluation } from '../alerter/state/types.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../core/store/store.ts';
import type { FullConfig } from './config-schema.ts';
import { runRole } from './role.ts';
import { loadRules, ruleEvaluator } from './rules.ts';

export interface StartedAlerter {
  alerter: Alerter;
  slos: Slo[];
  app: Hono;
  stop(): Promise<void>;
}

/** Loads the SLO and rule files of the config and starts evaluating (when leading). */
export async function startAlerter(options: {
  config: FullConfig;
  store: Store;
  nc: NatsConnection;
  logger: Logger;
  registry: Registry;
}): Promise<StartedAlerter> {
  const { config, store, nc, logger, registry } = options;
  const log = logger.child({ module: 'alert' });
  const section = config.alerter;
  const { slos, warnings } = loadSlos(expandFiles(section.slos));
  for (const warning of warnings) log.warn({ warning }, 'OpenSLO import');
  for (const slo of slos) {
    for (const tier of tiersForSlo(slo)) {
      if (!canFire(tier, errorBudget(slo.objective))) {
        log.warn(
          {
            slo: slo.name,
            source: slo.source,
            tier: tier.name,
            factor: tier.factor,
            objective: slo.objective,
          },
          'this burn-rate tier can never fire at this objective (it needs more than 100% of events to fail)',
        );
      }
    }
  }
  const ruleList = loadRules(section.rules);
  const rules: ((at: number) => Promise<RuleEvaluation[]>) | undefined = ruleEvaluator(
    store,
    ruleList,
    log,
  );
  let silences: SilenceStore | undefined;
  let notifier: Notifier | undefined;
  if (config.notify) {
    // Replicated as the streams are: losing one NATS node must not lose the silences.
    silences = await SilenceStore.open({ nc, logger, replicas: config.nats.streams.replicas });
    notifier = new Notifier({
      config: config.notify,
      store,
      logger,
      silences,
      sources: { slos, rules: ruleList },
      receiverDeps: { metrics: createReceiverMetrics(registry) },
    });
  }
  const lease = await Lease.open({
    nc,
    bucket: section.lease.bucket,
    ttlMs: section.lease.ttl.ms,
    replicas: config.nats.streams.replicas,
    holder: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    logger,
  });
  const alerter = new Alerter({
    store,
    logger,
    registry,
    slos,
    ...(rules ? { rules } : {}),
    intervalMs: section.interval.ms,
    lease,
    ...(notifier ? { notifier } : {}),
  });
  alerter.start();
  // Scheduled SLO reports: of several alerters the one holding the lease sends them.
  const reports =
    config.reports.schedules.length > 0
      ? new ReportScheduler({
          config: config.reports,
          receivers: config.notify?.receivers ?? [],
          ...(config.notify ? { delivery: config.notify.delivery } : {}),
          store,
          slos,
          logger,
          leading: () => lease.leading,
        })
      : undefined;
  reports?.start();
  log.info(
    { slos: slos.length, rules: ruleList.length, interval: section.interval.text },
    'alerter started',
  );
  const app = new Hono();
  app.route('/', createAlerterApi(alerter, slos));
  if (notifier && silences) {
    const n = notifier;
    app.route(
      '/',
      createNotifyApi({
        tokens: config.api.tokens,
        silences,
        alerts: () => alerter.status().alerts,
        inhibitedBy: (labels) => n.inhibitedBy(labels),
        receive: (alerts) => n.receive(alerts, Date.now()),
        logger,
      }),
    );
  }
  const notifying = notifier;
  // The status page, for when Grafana is not there.
  app.route(
    '/',
    createStatusPage({
      status: () => alerter.status(),
      slos,
      rules: ruleList,
      ...(silences ? { silences } : {}),
      ...(notifying ? { inhibitedBy: (labels) => notifying.inhibitedBy(labels) } : {}),
      tokens: config.api.tokens,
      store,
      logger,
    }),
  );
  return {
    alerter,
    slos,
    app,
    stop: async () => {
      await reports?.stop();
      await alerter.stop();
      await silences?.close();
    },
  };
}

/** `halo alert`: several may run; the one holding the lease evaluates. */
export function runAlertRole(config: FullConfig, logger: Logger): Promise<() => Promise<void>> {
  return runRole(config, logger, {
    name: 'alert',
    needsNats: 'takes its lease in NATS KV',
    start: (ctx) => startAlerter(ctx),
  });
}
