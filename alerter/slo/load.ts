// Loads SLO files for the alerter and the CLI: halo/v1 or OpenSLO v1 (told apart by their
// apiVersion), from paths or globs, with names unique across every file.

import { globSync } from 'tinyglobby';
import { ConfigError } from '../../core/errors.ts';
import type { Slo } from './model.ts';
import { loadOpenSloFile } from './openslo.ts';
import { parseSlos } from './spec.ts';
import { readDocumentFile, requireUniqueNames } from './yaml-docs.ts';

export interface LoadedSlos {
  slos: Slo[];
  /** What the OpenSLO import could not express exactly. */
  warnings: string[];
}

/** The files the patterns name, sorted; a pattern that matches nothing is an error. */
export function expandFiles(patterns: readonly string[], cwd = process.cwd()): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const found = globSync(pattern, { cwd, absolute: true, onlyFiles: true });
    if (found.length === 0) throw new ConfigError(`${pattern}: no such file`);
    for (const file of found.sort()) out.add(file);
  }
  return [...out];
}

/** Reads one file as halo/v1 or OpenSLO v1. */
export function loadAnySloFile(file: string): LoadedSlos {
  const text = readDocumentFile(file, 'SLO');
  if (/^apiVersion:\s*['"]?openslo\/v1/m.test(text)) return loadOpenSloFile(file);
  return { slos: parseSlos(text, file), warnings: [] };
}

/** Every SLO of the files; the same name in two places is an error naming both. */
export function loadSlos(files: readonly string[]): LoadedSlos {
  const slos: Slo[] = [];
  const warnings: string[] = [];
  for (const file of files) {
    const loaded = loadAnySloFile(file);
    warnings.push(...loaded.warnings);
    slos.push(...loaded.slos);
  }
  requireUniqueNames(slos);
  return { slos, warnings };
}
