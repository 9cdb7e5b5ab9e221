// Nothing secret reaches a log line: Secret values, secret-named fields, and URLs with credentials.

import { describe, expect, it } from 'vitest';
import { redactUrl } from '../core/config/secret.ts';
import { capturedLogger } from './helpers/captured-logger.ts';
import { testConfig } from './helpers/config.ts';

const capture = () => capturedLogger('trace');

describe('the logger', () => {
  it('prints a config with secrets as <secret>', () => {
    const { logger, lines } = capture();
    const config = testConfig({
      clickhouse: { password: 'Ch-pa55' },
      nats: { token: 'Nats-t0ken' },
    });
    logger.info({ config }, 'effective config');
    logger.info({ nats: config.nats }, `token is ${config.nats.token}`);
    const out = lines.join('');
    expect(out).toContain('"password":"<secret>"');
    expect(out).toContain('token is <secret>');
    expect(out).not.toMatch(/Ch-pa55|Nats-t0ken/);
  });

  it('redacts fields named like secrets even when a caller passes plain strings', () => {
    const { logger, lines } = capture();
    logger.warn(
      {
        password: 'p1',
        receiver: { routing_key: 'rk-123', webhook_url: 'https://hooks.example/T0/B0/xyz' },
      },
      'oops',
    );
    const out = lines.join('');
    expect(out).not.toMatch(/p1"|rk-123|hooks\.example/);
    expect(out.match(/<secret>/g)).toHaveLength(3);
  });

  it('URLs lose their credentials before they are logged or shown', () => {
    expect(redactUrl('http://admin:hunter2@db:8123/')).toBe('http://db:8123/');
    expect(redactUrl('nats://u:p@10.0.0.1:4222')).toBe('nats://10.0.0.1:4222');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(redactUrl('127.0.0.1:4222')).toBe('127.0.0.1:4222');
  });
});
