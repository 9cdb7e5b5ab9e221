// Query parameters shared by the notify API routes: boolean flags and `filter=` matchers.

import { parseMatcher, SilenceValidationError, type Matcher } from '../silence/index.ts';
import { badRequest } from './errors.ts';

/** `true` (the default, as in Alertmanager) or `false`; anything else is a 400. */
export function parseFlag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw badRequest(`query ${name}: expected true or false, got ${JSON.stringify(value)}`);
}

/** Repeated `filter=label="value"` parameters in matcher syntax (=, !=, =~, !~). */
export function parseFilters(values: readonly string[] | undefined): Matcher[] {
  return (values ?? []).map((text) => {
    try {
      return parseMatcher(text);
    } catch (err) {
      if (err instanceof SilenceValidationError) throw badRequest(`query filter: ${err.message}`);
      throw err;
    }
  });
}
