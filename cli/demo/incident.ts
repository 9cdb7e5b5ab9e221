// The scripted demo incident: a web server starts answering 5xx, then goes down, then recovers,
// with an event for each step so `halo up` can say what is happening and when.

import type { Logger } from '../../core/logger.ts';
import type { Mode } from './state.ts';

export interface IncidentEvent {
  at: number;
  phase: Mode;
  host: string;
  text: string;
}

/** setTimeout and clearTimeout, injectable so a test can run the script without waiting. */
export interface IncidentTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface IncidentOptions {
  /** Healthy this long before the errors start. */
  afterMs: number;
  /** Answering 5xx this long before going down. */
  errorsForMs: number;
  /** Down this long before recovering. */
  downForMs: number;
  /** @default 'web-2' */
  target?: string;
  /** @default Date.now */
  clock?: () => number;
  /** @default the global setTimeout and clearTimeout */
  timers?: IncidentTimers;
  onEvent?: (event: IncidentEvent) => void;
  logger?: Logger;
}

export interface Incident {
  /** Stops the steps not yet run; the target keeps the mode it has. */
  cancel(): void;
  /** Settles once the last step has run, or at once when cancelled. */
  readonly done: Promise<void>;
}

interface Step {
  phase: Mode;
  delayMs: number;
  text: (host: string) => string;
}

const realTimers: IncidentTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function validDelay(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`demo incident: ${name} is ${value}: expected milliseconds of 0 or more`);
  }
  return value;
}

export function scheduleIncident(
  stack: { setMode(host: string, mode: Mode): Promise<void> },
  options: IncidentOptions,
): Incident {
  const host = options.target ?? 'web-2';
  const clock = options.clock ?? Date.now;
  const timers = options.timers ?? realTimers;
  const steps: Step[] = [
    {
      phase: 'errors',
      delayMs: validDelay('afterMs', options.afterMs),
      text: (h) => `demo incident: ${h} answers 5xx (still passing haproxy's health check)`,
    },
    {
      phase: 'down',
      delayMs: validDelay('errorsForMs', options.errorsForMs),
      text: (h) => `demo incident: ${h} is down (haproxy takes it out of rotation)`,
    },
    {
      phase: 'healthy',
      delayMs: validDelay('downForMs', options.downForMs),
      text: (h) => `demo incident: ${h} is back and healthy`,
    },
  ];
  let handle: unknown;
  let cancelled = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const perform = async (index: number, step: Step): Promise<void> => {
    try {
      await stack.setMode(host, step.phase);
      if (!cancelled)
        options.onEvent?.({ at: clock(), phase: step.phase, host, text: step.text(host) });
    } catch (err) {
      options.logger?.error({ err, host, phase: step.phase }, 'demo incident step failed');
    }
    run(index + 1);
  };

  const run = (index: number): void => {
    const step = steps[index];
    if (cancelled || !step) return finish();
    handle = timers.setTimeout(() => {
      handle = undefined;
      if (!cancelled) void perform(index, step);
    }, step.delayMs);
  };
  run(0);

  return {
    done,
    cancel() {
      cancelled = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      handle = undefined;
      finish();
    },
  };
}
