#!/usr/bin/env node
// The `halo` command: loads the TypeScript CLI through tsx's ESM loader, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
