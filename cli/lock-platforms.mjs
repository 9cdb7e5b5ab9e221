// Keeps package-lock.json acceptable to `npm ci`: adds entries for chdb's native packages of other platforms.
//
// chdb lists one optional native package per platform (@chdb/lib-<os>-<cpu>[-gnu]). The registry
// this project installs from serves only the Linux x64 one, so `npm install` writes a lock
// without the others, and `npm ci` then refuses the lock ("Missing: @chdb/lib-darwin-arm64 from
// lock file"). An entry with the platform's os and cpu is enough: npm skips it on every other
// platform without fetching it. Run by cli/setup.sh before `npm ci`; idempotent.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages ?? {};
const chdb = packages['node_modules/chdb'];
let added = 0;
for (const [name, version] of Object.entries(chdb?.optionalDependencies ?? {})) {
  const key = `node_modules/${name}`;
  if (packages[key]) continue;
  const match = /^@chdb\/lib-(darwin|linux)-(x64|arm64)(-gnu)?$/.exec(name);
  if (!match) continue;
  packages[key] = {
    version,
    cpu: [match[2]],
    ...(match[3] ? { libc: ['glibc'] } : {}),
    optional: true,
    os: [match[1]],
  };
  added++;
}
if (added > 0) {
  const sorted = Object.fromEntries(
    Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
  );
  lock.packages = sorted;
  writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
  console.error(`halo setup: added ${added} platform entries for chdb to package-lock.json`);
}
