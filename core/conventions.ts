// Names shared by every role: NATS subjects and streams, ClickHouse tables, promoted label keys.
// The roles never import each other; this file (with the schema migrations) is their contract.

/** Version of the batch format carried on the bus. */
export const BATCH_VERSION = 1;

/** JetStream stream names. */
export const STREAMS = {
  metrics: 'HALO_METRICS',
  logs: 'HALO_LOGS',
  deadLetters: 'HALO_DEAD_LETTERS',
} as const;
export type StreamKey = keyof typeof STREAMS;

/** A tier's name: lowercase letters, digits, _ and -, starting with a letter, up to 63. */
export const TIER_NAME_RE = /^[a-z][a-z0-9_-]{0,62}$/;

/** Subject roots; a full subject is `<root>.<tier>.<host>`. */
export const SUBJECT_ROOTS = {
  metrics: 'halo.metrics',
  logs: 'halo.logs',
  deadLetters: 'halo.dead',
} as const;

/** Subjects each stream captures. */
export const STREAM_SUBJECTS: Record<StreamKey, string[]> = {
  metrics: [`${SUBJECT_ROOTS.metrics}.>`],
  logs: [`${SUBJECT_ROOTS.logs}.>`],
  deadLetters: [`${SUBJECT_ROOTS.deadLetters}.>`],
};

/** Header carrying a batch's identity, so JetStream drops a republished batch. */
export const MSG_ID_HEADER = 'Nats-Msg-Id';

/**
 * Turns a tier or host name into one subject token. NATS tokens cannot hold `.`, `*`, `>` or
 * white space, and host names often hold dots (`web-1.example.com`), so every character outside
 * `[A-Za-z0-9_-]` becomes `_`. The batch itself carries the exact names; the subject is for
 * routing and permissions only.
 */
export function subjectToken(name: string): string {
  const token = name.replace(/[^A-Za-z0-9_-]/g, '_');
  return token === '' ? '_' : token;
}

export function metricsSubject(tier: string, host: string): string {
  return `${SUBJECT_ROOTS.metrics}.${subjectToken(tier)}.${subjectToken(host)}`;
}

export function logsSubject(tier: string, host: string): string {
  return `${SUBJECT_ROOTS.logs}.${subjectToken(tier)}.${subjectToken(host)}`;
}

/** Dead letters keep the kind of the stream they came from: `halo.dead.metrics`. */
export function deadLetterSubject(from: 'metrics' | 'logs'): string {
  return `${SUBJECT_ROOTS.deadLetters}.${from}`;
}

/** ClickHouse tables (unqualified; the database comes from config). */
export const TABLES = {
  migrations: 'schema_migrations',
  samples: 'samples',
  samples1m: 'samples_1m',
  samples5m: 'samples_5m',
  samples1h: 'samples_1h',
  samplesRollups: 'samples_rollups',
  series: 'series',
  ingestJournal: 'ingest_journal',
  logs: 'logs',
  logsErrors: 'logs_errors',
  alerts: 'alert_history',
  notifications: 'notification_log',
  sloEvaluations: 'slo_evaluations',
} as const;
export type TableKey = keyof typeof TABLES;

/** Labels promoted out of the label map into their own LowCardinality columns. */
export const PROMOTED_LABELS = ['tier', 'host', 'service'] as const;
export type PromotedLabel = (typeof PROMOTED_LABELS)[number];

/** Log severities, lowest first (OpenTelemetry's short names). */
export const SEVERITIES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** The severities of error lines: the error panels and the logs_errors table (migration 10). */
export const ERROR_SEVERITIES = ['error', 'fatal'] as const satisfies readonly Severity[];
