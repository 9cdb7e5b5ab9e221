// A ratio SLO for tests, parsed from the halo/v1 spec: a service's 5xx over its requests.

import type { Slo } from '../../alerter/slo/model.ts';
import { parseSlos } from '../../alerter/slo/spec.ts';

/** `http_requests_total` of `service`, code 5.. bad; `extra` is YAML appended under spec. */
export function ratioSlo(name: string, service: string, extra = ''): Slo {
  const [parsed] = parseSlos(
    `apiVersion: halo/v1
kind: SLO
metadata:
  name: ${name}
spec:
  service: ${service}
  objective: 99.9
  window: { rolling: 30d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { service: ${service}, code: { op: "=~", value: "5.." } } }
      total: { metric: http_requests_total, matchers: { service: ${service} } }
${extra}`,
    `${name}.yaml`,
  );
  return parsed!;
}
