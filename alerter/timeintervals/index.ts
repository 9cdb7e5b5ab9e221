// Time intervals (Alertmanager's time_intervals): the config, activeAt and muted.

export * from './schema.ts';
export * from './active.ts';
