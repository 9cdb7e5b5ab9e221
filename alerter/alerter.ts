// The alerter: every interval (node-cron), evaluates all SLOs and rules at the injected clock's
// time, advances the alert state machine, and writes SLO evaluations and alert transitions.
// With a lease, only the replica holding it evaluates; a replica that takes over resumes the
// open alerts from the alert history, so no alert is lost and none fires twice.

import cron, { type ScheduledTask } from 'node-cron';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../core/store/store.ts';
import type { Lease } from './ha/lease.ts';
import { sloAlerts } from './slo/alerts.ts';
import { evaluateSlos, writeEvaluations, type SloEvaluation } from './slo/evaluate.ts';
import type { Slo } from './slo/model.ts';
import { openAlerts, writeTransitions } from './state/history.ts';
import { AlertBook, type Alert, type Transition } from './state/machine.ts';
import type { RuleEvaluation } from './state/types.ts';

export interface AlerterOptions {
  store: Store;
  logger: Logger;
  registry: Registry;
  slos: readonly Slo[];
  /** Classic rules, evaluated at a moment (see alerter/rules). */
  rules?: (at: number) => Promise<RuleEvaluation[]>;
  intervalMs: number;
  /** Milliseconds since the epoch; tests pass a clock that plays a past incident fast. */
  clock?: () => number;
  /** With a lease, this replica evaluates only while it holds it. */
  lease?: Lease;
  /** Called with the transitions of each evaluation, after they were written. */
  onTransitions?: (transitions: readonly Transition[]) => void | Promise<void>;
  /** The notification pipeline: fed after each evaluation, flushed every second. */
  notifier?: AlertNotifier;
}

/** What the alerter needs of the notification pipeline (alerter/notify). */
export interface AlertNotifier {
  resume(at: number): Promise<void>;
  update(alerts: readonly Alert[], at: number): void;
  flush(at: number): Promise<void>;
}

/** A schedule for node-cron that runs every interval, aligned to the clock. */
export function cronFor(intervalMs: number): string {
  const seconds = intervalMs / 1000;
  if (Number.isInteger(seconds) && seconds >= 1 && seconds < 60 && 60 % seconds === 0)
    return seconds === 1 ? '* * * * * *' : `*/${seconds} * * * * *`;
  const minutes = seconds / 60;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0)
    return minutes === 1 ? '0 * * * * *' : `0 */${minutes} * * * *`;
  if (minutes === 60) return '0 0 * * * *';
  throw new Error(
    `an evaluation interval must divide a minute or an hour evenly (got ${intervalMs} ms)`,
  );
}

export interface AlerterStatus {
  leading: boolean;
  lastEvaluation: number | undefined;
  evaluations: readonly SloEvaluation[];
  alerts: Alert[];
}

export class Alerter {
  readonly book = new AlertBook();
  readonly #o: AlerterOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  #task: ScheduledTask | undefined;
  #running: Promise<void> | undefined;
  #leading = false;
  /** Transitions not written yet (the store failed): written first next time. */
  #unwritten: Transition[] = [];
  #last: { at: number; evaluations: SloEvaluation[] } | undefined;
  #flushing = false;
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #metrics: {
    seconds: Histogram;
    failures: Counter;
    skipped: Counter;
    transitions: Counter<'to'>;
    alerts: Gauge<'state'>;
    leading: Gauge;
  };

  constructor(options: AlerterOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: 'alerter' });
    this.#clock = options.clock ?? Date.now;
    const registers = [options.registry];
    this.#metrics = {
      seconds: new Histogram({
        name: 'halo_alerter_evaluation_seconds',
        help: 'Time of one evaluation of every SLO and rule.',
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
        registers,
      }),
      failures: new Counter({
        name: 'halo_alerter_evaluation_failures_total',
        help: 'Evaluations that failed (the store did not answer); the next one tries again.',
        registers,
      }),
      skipped: new Counter({
        name: 'halo_alerter_evaluations_skipped_total',
        help: 'Scheduled evaluations skipped because the previous one was still running.',
        registers,
      }),
      transitions: new Counter({
        name: 'halo_alerter_transitions_total',
        help: 'Alert state changes, by the state entered.',
        labelNames: ['to'],
        registers,
      }),
      alerts: new Gauge({
        name: 'halo_alerter_alerts',
        help: 'Alerts by state.',
        labelNames: ['state'],
        registers,
        collect: () => {
          const counts = { pending: 0, firing: 0, resolved: 0 };
          for (const a of this.book.alerts()) counts[a.state]++;
          for (const [state, n] of Object.entries(counts)) this.#metrics.alerts.set({ state }, n);
        },
      }),
      leading: new Gauge({
        name: 'halo_alerter_leading',
        help: '1 when this replica holds the lease and evaluates.',
        registers,
        collect: () => this.#metrics.leading.set(this.#leading ? 1 : 0),
      }),
    };
  }

  /**
   * One evaluation at `at`: SLOs and rules, the state machine, then the writes. Throws when
   * the store fails; the state machine then has not moved.
   */
  async evaluate(at: number = this.#clock()): Promise<Transition[]> {
    const began = performance.now();
    const { store, slos } = this.#o;
    const evaluations = await evaluateSlos(store, slos, at);
    const rules = (await this.#o.rules?.(at)) ?? [];
    await writeEvaluations(store, evaluations);
    const results = [...sloAlerts(slos, evaluations, at), ...rules];
    const transitions = results.flatMap((r) => this.book.apply(r, at));
    this.book.prune(at);
    this.#last = { at, evaluations };
    const pending = [...this.#unwritten, ...transitions];
    try {
      await writeTransitions(store, pending);
      this.#unwritten = [];
    } catch (err) {
      // The state moved on; the history catches up at the next evaluation.
      this.#unwritten = pending;
      this.#log.warn(
        { err: errorMessage(err), transitions: pending.length },
        'alert history write failed; will retry',
      );
    }
    for (const t of transitions) this.#metrics.transitions.inc({ to: t.to });
    this.#metrics.seconds.observe((performance.now() - began) / 1000);
    for (const t of transitions) {
      this.#log.info(
        {
          alert: t.alert.labels['alertname'],
          labels: t.alert.labels,
          from: t.from,
          to: t.to,
          value: t.alert.value,
        },
        'alert state changed',
      );
    }
    if (transitions.length > 0) await this.#o.onTransitions?.(transitions);
    this.#o.notifier?.update(this.book.alerts(), at);
    await this.#flush(at);
    return transitions;
  }

  /** Resumes the open alerts from the history (on start, and when this replica takes over). */
  async resume(at: number = this.#clock()): Promise<number> {
    const open = await openAlerts(this.#o.store, at);
    // The history keeps transitions, not every active evaluation: count a firing alert as
    // active until now, so keep_firing_for still runs its course after a takeover.
    for (const alert of open) alert.lastActive = Math.max(alert.lastActive, at);
    this.book.restore(open);
    await this.#o.notifier?.resume(at);
    this.#log.info({ open: open.length }, 'resumed open alerts from the alert history');
    return open.length;
  }

  /** The scheduled step: evaluate when leading, resuming first if leadership is new. */
  async tick(): Promise<void> {
    const leading = this.#o.lease ? this.#o.lease.leading : true;
    if (!leading) {
      if (this.#leading) this.#log.info('no longer leading; standing by');
      this.#leading = false;
      return;
    }
    if (!this.#leading) {
      await this.resume();
      this.#leading = true;
    }
    await this.evaluate();
  }

  /** Runs tick() unless one is running (then the run is counted as skipped). */
  #runTick(): void {
    if (this.#running) {
      this.#metrics.skipped.inc();
      return;
    }
    this.#running = this.tick()
      .catch((err: unknown) => {
        this.#metrics.failures.inc();
        // Resume again next time: what we hold may be behind the history.
        this.#leading = false;
        this.#log.error({ err: errorMessage(err) }, 'evaluation failed');
      })
      .finally(() => (this.#running = undefined));
  }

  /** Sends the notifications due at `at` (one flush at a time). */
  async #flush(at: number): Promise<void> {
    if (!this.#o.notifier || this.#flushing) return;
    this.#flushing = true;
    try {
      await this.#o.notifier.flush(at);
    } catch (err) {
      this.#log.error({ err: errorMessage(err) }, 'notification flush failed');
    } finally {
      this.#flushing = false;
    }
  }

  start(): void {
    // group_wait and group_interval are kept to the second, between evaluations too.
    if (this.#o.notifier) {
      this.#flushTimer = setInterval(() => {
        if (this.#leading) void this.#flush(this.#clock());
      }, 1000);
      this.#flushTimer.unref();
    }
    // A replica that takes over evaluates at once, not at the next scheduled time.
    this.#o.lease?.start((leading) => {
      if (leading) this.#runTick();
    });
    this.#task = cron.schedule(cronFor(this.#o.intervalMs), () => this.#runTick(), {
      name: 'halo-alerter',
      noOverlap: true,
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.#flushTimer);
    await this.#task?.stop();
    await this.#task?.destroy?.();
    await this.#running;
    await this.#o.lease?.stop();
    this.#leading = false;
  }

  status(): AlerterStatus {
    return {
      leading: this.#o.lease ? this.#o.lease.leading : true,
      lastEvaluation: this.#last?.at,
      evaluations: this.#last?.evaluations ?? [],
      alerts: this.book.alerts(),
    };
  }
}
