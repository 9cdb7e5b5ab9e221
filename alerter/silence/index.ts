// Alertmanager-style silences: the model, matcher parsing and the store shared through NATS KV.

export * from './errors.ts';
export {
  compileMatcher,
  formatMatcher,
  formatMatchers,
  matchesEmpty,
  parseMatcher,
  type LabelSet,
} from './matcher.ts';
export {
  parseSilence,
  parseSilenceInput,
  SILENCE_LIMITS,
  SILENCE_STATES,
  silenceState,
  type Matcher,
  type Silence,
  type SilenceInput,
  type SilenceState,
  type SilenceWithState,
} from './model.ts';
export type { SilenceStoreOptions } from './options.ts';
export { SilenceStore } from './store.ts';
