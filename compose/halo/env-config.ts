// Compose's own start-up step: expands ${NAME} in a Halo config template from the environment (for api.tokens, which has no _file form), then runs `halo -c <rendered> <args>`.
//
//   node --import tsx compose/halo/env-config.ts TEMPLATE [halo args…]
//
// NAME is read from the environment, or from the file NAME_FILE names. The rendered file is
// written readable by its owner only, to HALO_RENDERED_CONFIG (default /tmp/halo.yaml), and
// `halo` then runs in this same process, so it gets the container's signals itself.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;
/** What a value may hold: it is written into YAML as is, inside single quotes. */
const SAFE_VALUE = /^[A-Za-z0-9._~+/=-]+$/;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

function valueOf(name: string, env: Record<string, string | undefined>): string {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  const value =
    direct !== undefined && direct !== ''
      ? direct
      : file !== undefined && file !== ''
        ? readFileSync(file, 'utf8').trim()
        : undefined;
  if (value === undefined || value === '') {
    throw new TemplateError(`\${${name}}: neither ${name} nor ${name}_FILE is set`);
  }
  // The value is never printed: only what is wrong with it.
  if (!SAFE_VALUE.test(value)) {
    throw new TemplateError(
      `\${${name}}: expected letters, digits and . _ ~ + / = - only (${value.length} characters given)`,
    );
  }
  return value;
}

/** The template with every ${NAME} replaced; throws a TemplateError naming the first bad one. */
export function expandTemplate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => valueOf(name, env));
}

/** The placeholders a template uses, for checks. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

async function main(argv: readonly string[]): Promise<void> {
  const [template, ...haloArgs] = argv;
  if (template === undefined) throw new TemplateError('usage: env-config.ts TEMPLATE [halo args…]');
  const out = process.env['HALO_RENDERED_CONFIG'] ?? '/tmp/halo.yaml';
  rmSync(out, { force: true });
  writeFileSync(out, expandTemplate(readFileSync(template, 'utf8'), process.env), {
    mode: 0o600,
    flag: 'wx',
  });
  const bin = fileURLToPath(new URL('../../cli/bin.js', import.meta.url));
  process.argv = [process.argv[0]!, bin, '-c', out, ...haloArgs];
  await import('../../cli/main.ts');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`halo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
