// Where intake data belongs: tier, host and service taken from a sender's labels (Prometheus) or
// resource attributes (OTLP) by the configured candidates, the token's tier binding enforced, and
// what is left made into labels Halo accepts.

import { TIER_NAME_RE } from '../../core/conventions.ts';
import { withoutAgentLabels } from '../agent/sources/prometheus.ts';
import type { IntakeConfig, IntakeToken } from './config.ts';

export interface Placement {
  tier: string;
  host: string;
  service: string;
  /** The labels without the ones used for tier, host and service (others of those names renamed exported_…). */
  labels: Record<string, string>;
}

const MAX_NAME_LENGTH = 256;

/**
 * An OTLP attribute name as a label name, like Prometheus' otlptranslator: characters outside
 * [a-zA-Z0-9_] become _, `key_` goes before a leading digit and `key` before a single leading _.
 */
export function sanitizeLabelName(name: string): string {
  const label = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(label)) return `key_${label}`;
  if (label.startsWith('_') && !label.startsWith('__')) return `key${label}`;
  return label;
}

export class Mapper {
  readonly #config: IntakeConfig;
  readonly #promoted: Array<[string, string]>;

  constructor(config: IntakeConfig) {
    this.#config = config;
    this.#promoted = config.mapping.promote_resource_attributes.map((a) => [
      a,
      sanitizeLabelName(a),
    ]);
  }

  /**
   * The placement of one series or record, or the reason it cannot be placed. `labels` may be
   * changed in place: pass a copy if the caller keeps it.
   */
  place(
    labels: Record<string, string>,
    resource: Record<string, string> | undefined,
    token: IntakeToken | undefined,
  ): Placement | string {
    const { mapping } = this.#config;
    const tier = pick(mapping.tier, labels, resource);
    const host = pick(mapping.host, labels, resource);
    const service = pick(mapping.service, labels, resource);
    let tierName = tier ?? token?.tier ?? this.#config.default_tier;
    if (tier !== undefined) {
      if (!TIER_NAME_RE.test(tier)) {
        return `tier ${JSON.stringify(tier.slice(0, 64))} is not a tier name (lowercase letters, digits, _ and -, up to 63)`;
      }
      if (token?.tier !== undefined && tier !== token.tier) {
        return `tier ${JSON.stringify(tier)} is not the tier of token ${JSON.stringify(token.name)} (${token.tier})`;
      }
      tierName = tier;
    }
    for (const [attribute, name] of this.#promoted) {
      const value = resource?.[attribute];
      if (value !== undefined && value !== '' && labels[name] === undefined) labels[name] = value;
    }
    const hostName = host ?? this.#config.default_host;
    const serviceName = service ?? this.#config.default_service;
    if (hostName.length > MAX_NAME_LENGTH) return `host name longer than ${MAX_NAME_LENGTH}`;
    if (serviceName.length > MAX_NAME_LENGTH) return `service name longer than ${MAX_NAME_LENGTH}`;
    return {
      tier: tierName,
      host: hostName,
      service: serviceName,
      labels: withoutAgentLabels(labels),
    };
  }
}

/** The first candidate present with a value; a label used is removed from the labels. */
function pick(
  candidates: readonly string[],
  labels: Record<string, string>,
  resource: Record<string, string> | undefined,
): string | undefined {
  for (const name of candidates) {
    const label = labels[name];
    if (label !== undefined && label !== '') {
      delete labels[name];
      return label;
    }
    const attribute = resource?.[name];
    if (attribute !== undefined && attribute !== '') return attribute;
  }
  return undefined;
}
