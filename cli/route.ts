// `halo route test LABEL=VALUE…`: which receivers and routes of the configured notify tree a label set reaches.

import { formatRouteTest, LabelArgsError, parseLabelArgs } from '../alerter/route/index.ts';
import { ConfigError } from '../core/errors.ts';
import type { FullConfig } from './config-schema.ts';

/** The text `halo route test` prints; bad label arguments and a missing notify section are ConfigErrors (exit 2). */
export function routeTest(config: FullConfig, args: readonly string[]): string {
  if (config.notify === undefined) {
    throw new ConfigError(
      'notify.route: missing: halo route test needs a notify section with receivers and a route in halo.yaml',
    );
  }
  let labels: Record<string, string>;
  try {
    labels = parseLabelArgs(args);
  } catch (err) {
    if (err instanceof LabelArgsError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
  return formatRouteTest(config.notify.route, labels);
}
