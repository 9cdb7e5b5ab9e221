// Imports OpenSLO v1 documents (SLO, SLI, AlertPolicy, AlertCondition) into halo/v1 SLOs; what halo cannot express is an error.

import { readFileSync } from 'node:fs';
import { ConfigError } from '../../core/errors.ts';
import type { Slo } from './model.ts';
import { convertSlo } from './openslo-map.ts';
import { fail, SCHEMAS, type Found, type Index, type SloSpec } from './openslo-schema.ts';
import { parseWith, readYamlDocuments } from './yaml-docs.ts';

export interface OpenSloImport {
  slos: Slo[];
  /** Constructs accepted but without effect in halo (notification targets, alertAfter, …). */
  warnings: string[];
}

/** Converts the OpenSLO documents of a file; `label` names the file in errors. */
export function parseOpenSlo(text: string, label: string): OpenSloImport {
  const index: Index = { sli: new Map(), policy: new Map(), condition: new Map() };
  const slos: Array<Found<SloSpec>> = [];
  for (const y of readYamlDocuments(text, label)) {
    const raw = y.raw as Record<string, unknown>;
    if (raw['apiVersion'] !== 'openslo/v1') {
      fail(
        y,
        'document',
        ['apiVersion'],
        `got ${JSON.stringify(raw['apiVersion'])}, expected "openslo/v1"`,
      );
    }
    const kind = String(raw['kind']);
    const schema = SCHEMAS[kind];
    if (!schema) {
      fail(
        y,
        'document',
        ['kind'],
        `got ${JSON.stringify(raw['kind'])}, expected one of ${Object.keys(SCHEMAS).join(', ')} (DataSource and the others are not expressible in halo/v1)`,
      );
    }
    const doc = parseWith(schema, y) as Found<never>['doc'];
    const found = { y, doc };
    if (kind === 'SLO') slos.push(found as Found<SloSpec>);
    if (kind === 'SLI') index.sli.set(doc.metadata.name, found);
    if (kind === 'AlertPolicy') index.policy.set(doc.metadata.name, found);
    if (kind === 'AlertCondition') index.condition.set(doc.metadata.name, found);
  }
  const warnings: string[] = [];
  const out = slos.flatMap((found) => convertSlo(found, index, warnings));
  return { slos: out, warnings };
}

/** Reads and converts an OpenSLO file. */
export function loadOpenSloFile(path: string): OpenSloImport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read OpenSLO file: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseOpenSlo(text, path);
}
