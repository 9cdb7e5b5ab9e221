// Halo's version, read once from package.json (found from the source tree or from dist/).

import { existsSync, readFileSync } from 'node:fs';

function packageJson(): URL {
  for (const relative of ['../package.json', '../../package.json']) {
    const url = new URL(relative, import.meta.url);
    if (existsSync(url)) return url;
  }
  throw new Error('package.json not found beside core/');
}

export const VERSION = (JSON.parse(readFileSync(packageJson(), 'utf8')) as { version: string })
  .version;
