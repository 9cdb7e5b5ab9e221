// The shape of one numbered migration: idempotent statements built for the store's mode.

import type { DdlContext } from '../ddl.ts';

export interface Migration {
  version: number;
  name: string;
  /** Every statement must be safe to run again (IF NOT EXISTS): a crash may repeat it. */
  statements: (ctx: DdlContext) => string[];
}
