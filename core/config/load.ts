// Reads halo.yaml once: YAML, *_file secrets, HALO_* overrides, zod validation, one-line errors.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, errorMessage } from '../errors.ts';
import { ENV_BINDINGS, fileVariable } from './env.ts';
import { configSchema, PATH_KEYS, SECRET_KEYS, type HaloConfig } from './schema.ts';
import { redactUrl, Secret } from './secret.ts';
import { allowedKeys, unknownKeyHint } from './shape.ts';

export const DEFAULT_CONFIG_FILE = 'halo.yaml';

export interface LoadConfigOptions<S extends z.ZodType = typeof configSchema> {
  /** The schema to validate with: the core one, or one made by extendConfigSchema. */
  schema?: S;
  /** A config file that must exist; without it `halo.yaml` in `cwd` is read when present. */
  path?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /**
   * Settings used where the file is silent (a mode's own, such as `halo up`'s demo): mappings
   * merge key by key, anything else set in the file replaces the default whole.
   */
  defaults?: Record<string, unknown>;
  /** Top-level sections of `defaults` that a section in the file replaces whole (`notify`). */
  wholeSections?: readonly string[];
}

export interface LoadedConfig<C = HaloConfig> {
  config: C;
  /** The file read, if any. */
  file: string | undefined;
  /** Environment variables that set a key, by dotted key path. */
  fromEnv: Record<string, string>;
}

type Raw = Record<string, unknown>;

export function loadConfig<S extends z.ZodType<HaloConfig, unknown> = typeof configSchema>(
  options: LoadConfigOptions<S> = {},
): LoadedConfig<z.output<S>> {
  const schema = (options.schema ?? configSchema) as S;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = options.path !== undefined ? resolve(cwd, options.path) : defaultFile(cwd);
  const label = options.path ?? DEFAULT_CONFIG_FILE;

  let raw: Raw = {};
  let doc: Document | undefined;
  let lines: LineCounter | undefined;
  if (file !== undefined) {
    ({ raw, doc, lines } = readYaml(file, label));
    resolveFileKeys(raw, dirname(file), label, doc, lines);
  }
  if (options.defaults !== undefined) {
    const whole = new Set(options.wholeSections ?? []);
    const defaults = Object.fromEntries(
      Object.entries(options.defaults).filter(([key]) => !(whole.has(key) && key in raw)),
    );
    raw = withDefaults(defaults, raw);
  }
  const fromEnv = applyEnv(raw, env);

  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const messages = result.error.issues.map((issue) =>
      describeIssue(issue, { schema, raw, label, doc, lines, fromEnv }),
    );
    throw new ConfigError(messages.join('\n'));
  }
  // data_dir from the file is already relative to the file; from env or the default, to cwd.
  const config = { ...result.data, data_dir: resolve(cwd, result.data.data_dir) };
  return { config, file, fromEnv };
}

const isMapping = (v: unknown): v is Raw =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `raw` over `defaults`: mappings merged key by key, other values from `raw` when set. */
function withDefaults(defaults: Raw, raw: Raw): Raw {
  const out: Raw = { ...defaults };
  for (const [key, value] of Object.entries(raw)) {
    const base = out[key];
    out[key] = isMapping(base) && isMapping(value) ? withDefaults(base, value) : value;
  }
  return out;
}

function defaultFile(cwd: string): string | undefined {
  const candidate = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(candidate) ? candidate : undefined;
}

/** Why a file could not be read, in words. */
function fileProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return errorMessage(err);
}

function readYaml(file: string, label: string): { raw: Raw; doc: Document; lines: LineCounter } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${label}: cannot read config file: ${fileProblem(err)}`, { cause: err });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    const where = `${label}:${pos.line}:${pos.col}`;
    throw new ConfigError(`${where}: invalid YAML: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return { raw: {}, doc, lines };
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${label}: expected a mapping of keys at the top level`);
  }
  return { raw: value as Raw, doc, lines };
}

function parentOf(raw: Raw, path: readonly string[], create: boolean): Raw | undefined {
  let node: Raw = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined && create) {
      node[key] = {};
    } else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      return undefined;
    }
    node = node[key] as Raw;
  }
  return node;
}

/** A secret read from a file (one trailing newline dropped); a clear error when it cannot be. */
export function readSecretFile(file: string, where: string): Secret {
  try {
    const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (text === '') throw new Error('the file is empty');
    return new Secret(text);
  } catch (err) {
    throw new ConfigError(
      `${where}: cannot read secret file ${JSON.stringify(file)}: ${fileProblem(err)}`,
      {
        cause: err,
      },
    );
  }
}

/** `password_file: PATH` becomes `password: Secret`, and relative paths follow the file's folder. */
function resolveFileKeys(
  raw: Raw,
  base: string,
  label: string,
  doc: Document,
  lines: LineCounter,
): void {
  for (const path of SECRET_KEYS) {
    const key = path[path.length - 1]!;
    const parent = parentOf(raw, path, false);
    if (!parent || !(`${key}_file` in parent)) continue;
    const filePath = [...path.slice(0, -1), `${key}_file`];
    const where = `${position(label, doc, lines, filePath)}: ${filePath.join('.')}`;
    if (key in parent) {
      throw new ConfigError(`${where}: expected either ${key} or ${key}_file, not both`);
    }
    const value = parent[`${key}_file`];
    if (typeof value !== 'string' || value === '') {
      throw new ConfigError(`${where}: got ${JSON.stringify(value)}, expected a file path`);
    }
    delete parent[`${key}_file`];
    parent[key] = readSecretFile(resolve(base, value), where);
  }
  for (const path of PATH_KEYS) {
    const parent = parentOf(raw, path, false);
    const key = path[path.length - 1]!;
    const value = parent?.[key];
    if (parent && typeof value === 'string' && value !== '' && !isAbsolute(value)) {
      parent[key] = resolve(base, value);
    }
  }
}

function applyEnv(raw: Raw, env: Record<string, string | undefined>): Record<string, string> {
  const fromEnv: Record<string, string> = {};
  for (const binding of ENV_BINDINGS) {
    let found: { name: string; value: unknown } | undefined;
    for (const name of binding.names) {
      const text = env[name];
      if (text !== undefined && text !== '') {
        found = {
          name,
          value: binding.kind === 'number' && /^\d+$/.test(text) ? Number(text) : text,
        };
        break;
      }
      const fileName = fileVariable(name);
      const fileText = env[fileName];
      if (binding.kind === 'secret' && fileText !== undefined && fileText !== '') {
        found = { name: fileName, value: readSecretFile(fileText, `env ${fileName}`) };
        break;
      }
    }
    if (!found) continue;
    const parent = parentOf(raw, binding.path, true);
    if (!parent) continue;
    parent[binding.path[binding.path.length - 1]!] = found.value;
    fromEnv[binding.path.join('.')] = found.name;
  }
  return fromEnv;
}

interface IssueContext {
  schema: z.ZodType;
  raw: Raw;
  label: string;
  doc: Document | undefined;
  lines: LineCounter | undefined;
  fromEnv: Record<string, string>;
}

function position(
  label: string,
  doc: Document | undefined,
  lines: LineCounter | undefined,
  path: readonly PropertyKey[],
): string {
  if (!doc || !lines) return label;
  // The deepest node of the path that the document has: a key's own line when it exists.
  for (let depth = path.length; depth >= 0; depth--) {
    const parent = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    if (depth === 0) break;
    if (isMap(parent)) {
      const pair = parent.items.find(
        (item) => isScalar(item.key) && item.key.value === path[depth - 1],
      );
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (range) return `${label}:${lines.linePos(range[0]).line}`;
    }
    if (isSeq(parent)) {
      const item = parent.items[Number(path[depth - 1])] as
        { range?: [number, number, number] } | undefined;
      if (item?.range) return `${label}:${lines.linePos(item.range[0]).line}`;
    }
  }
  return label;
}

function isSecretPath(path: readonly PropertyKey[]): boolean {
  return SECRET_KEYS.some(
    (secret) => secret.length === path.length && secret.every((key, i) => key === path[i]),
  );
}

/** What the user wrote at a key, for the message: secrets masked, mappings left out. */
function showValue(value: unknown, path: readonly PropertyKey[]): string | undefined {
  if (value === undefined) return 'nothing';
  if (value instanceof Secret || isSecretPath(path)) return '<secret>';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return undefined;
  const text =
    JSON.stringify(typeof value === 'string' ? redactUrl(value) : value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(raw: Raw, path: readonly PropertyKey[]): unknown {
  let node: unknown = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, ctx: IssueContext): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => {
        const keyPath = [...path, key];
        const expected = unknownKeyHint(key, allowedKeys(path, ctx.schema));
        return `${position(ctx.label, ctx.doc, ctx.lines, keyPath)}: ${keyPath.join('.')}: unknown key${expected}`;
      })
      .join('\n');
  }
  const dotted = path.join('.');
  const envName = Object.entries(ctx.fromEnv).find(
    ([key]) => key === dotted || dotted.startsWith(`${key}.`),
  )?.[1];
  const where = envName ? `env ${envName}` : position(ctx.label, ctx.doc, ctx.lines, path);
  const message = issue.message.replace(/^Invalid input: /, '');
  const subject = dotted === '' ? '(top level)' : dotted;
  const shown = showValue(valueAt(ctx.raw, path), path);
  return `${where}: ${subject}: ${shown === undefined ? '' : `got ${shown}, `}${message}`;
}
