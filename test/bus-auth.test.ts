// Every way the bus authenticates, against real nats-servers: token, nkey, and TLS with a CA.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { afterAll, describe, expect, it } from 'vitest';
import { connectBus } from '../core/bus/connect.ts';
import { BusError } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { tempDir } from './helpers/temp.ts';

const servers: TestNats[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});
async function server(args: string[]): Promise<TestNats> {
  const started = await startNatsServer(args);
  servers.push(started);
  return started;
}
const logger = silentLogger();

describe('token', () => {
  it('connects with the right token and is refused with a wrong one, which is not repeated', async () => {
    const s = await server(['--auth', 'Right-t0ken']);
    const nc = await connectBus({
      config: testConfig({ nats: { url: s.url, token: 'Right-t0ken' } }),
      logger,
    });
    await nc.close();
    const err = await connectBus({
      config: testConfig({ nats: { url: s.url, token: 'Wrong-t0ken' } }),
      logger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BusError);
    expect((err as Error).message).toContain('refused the credentials');
    expect((err as Error).message).not.toContain('t0ken');
  });
});

describe('nkey', () => {
  it('connects with a user nkey seed the server knows', async () => {
    const user = nkeys.createUser();
    const dir = tempDir();
    const conf = join(dir, 'nkey.conf');
    writeFileSync(conf, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    const s = await server(['-c', conf]);
    const seed = new TextDecoder().decode(user.getSeed());
    const nc = await connectBus({
      config: testConfig({ nats: { url: s.url, nkey_seed: seed } }),
      logger,
    });
    await nc.close();
    const stranger = new TextDecoder().decode(nkeys.createUser().getSeed());
    await expect(
      connectBus({ config: testConfig({ nats: { url: s.url, nkey_seed: stranger } }), logger }),
    ).rejects.toThrow('refused the credentials');
  });
});

describe('TLS', () => {
  it('connects to a TLS server whose certificate the configured CA signed', async () => {
    const dir = tempDir();
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=halo-test-ca',
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
    ]);
    run([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      'server-key.pem',
      '-out',
      'server.csr',
    ]);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'server.pem',
    ]);
    const s = await server([
      '--tls',
      '--tlscert',
      join(dir, 'server.pem'),
      '--tlskey',
      join(dir, 'server-key.pem'),
    ]);
    const url = s.url.replace('nats://', 'tls://');
    const nc = await connectBus({
      config: testConfig({ nats: { url, tls: { ca_file: join(dir, 'ca.pem') } } }),
      logger,
    });
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();
    // Without the CA the server's certificate is not trusted.
    await expect(
      connectBus({ config: testConfig({ nats: { url, connect_timeout: '2s' } }), logger }),
    ).rejects.toBeInstanceOf(BusError);
  });
});
