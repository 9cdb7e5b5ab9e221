// Connects to NATS with the configured authentication and TLS, reconnecting forever and
// logging each change of connection state.

import { readFileSync } from 'node:fs';
import {
  credsAuthenticator,
  nkeyAuthenticator,
  type Authenticator,
  type NatsConnection,
} from '@nats-io/nats-core';
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { HaloConfig } from '../config/schema.ts';
import { redactUrl } from '../config/secret.ts';
import { BusError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';

export interface ConnectBusOptions {
  /** The servers to use; defaults to nats.url of the config. */
  servers?: string[];
  config: HaloConfig;
  logger: Logger;
}

export function natsServers(config: HaloConfig): string[] {
  return (config.nats.url ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function readFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new BusError(`nats: cannot read ${what} ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

export function connectionOptions(config: HaloConfig, servers: string[]): NodeConnectionOptions {
  const nats = config.nats;
  const options: NodeConnectionOptions = {
    servers,
    name: nats.name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    timeout: nats.connect_timeout.ms,
    pingInterval: 20_000,
  };
  let authenticator: Authenticator | undefined;
  if (nats.user !== undefined && nats.password !== undefined) {
    options.user = nats.user;
    options.pass = nats.password.reveal();
  } else if (nats.token !== undefined) {
    options.token = nats.token.reveal();
  } else if (nats.nkey_seed !== undefined) {
    authenticator = nkeyAuthenticator(new TextEncoder().encode(nats.nkey_seed.reveal()));
  } else if (nats.creds_file !== undefined) {
    authenticator = credsAuthenticator(readFile(nats.creds_file, 'creds_file'));
  }
  if (authenticator) options.authenticator = authenticator;
  if (nats.tls) {
    options.tls = {
      handshakeFirst: nats.tls.handshake_first,
      ...(nats.tls.ca_file ? { caFile: nats.tls.ca_file } : {}),
      ...(nats.tls.cert_file ? { certFile: nats.tls.cert_file } : {}),
      ...(nats.tls.key_file ? { keyFile: nats.tls.key_file } : {}),
    };
  }
  return options;
}

/** Explains a failed first connection in one line, without credentials. */
function describeFailure(err: unknown, where: string): string {
  const text = errorMessage(err);
  if (/authorization|authentication|auth/i.test(text)) {
    return `nats at ${where} refused the credentials (authorization violation)`;
  }
  if (/ECONNREFUSED|CONNECTION_REFUSED|connection refused/i.test(text)) {
    return `nats at ${where} is unreachable: connection refused`;
  }
  if (/timeout/i.test(text)) return `nats at ${where} is unreachable: timed out`;
  return `nats at ${where}: ${text}`;
}

export async function connectBus(options: ConnectBusOptions): Promise<NatsConnection> {
  const servers = options.servers ?? natsServers(options.config);
  const where = servers.map(redactUrl).join(',');
  const log = options.logger.child({ module: 'bus' });
  let nc: NatsConnection;
  try {
    nc = await connect(connectionOptions(options.config, servers));
  } catch (err) {
    if (err instanceof BusError) throw err;
    throw new BusError(describeFailure(err, where), { cause: err });
  }
  log.info({ server: redactUrl(nc.getServer()) }, 'nats connected');
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case 'disconnect':
          log.warn({ server: redactUrl(status.server) }, 'nats disconnected');
          break;
        case 'reconnecting':
          log.debug('nats reconnecting');
          break;
        case 'reconnect':
          log.info({ server: redactUrl(status.server) }, 'nats reconnected');
          break;
        case 'error':
          log.error({ err: errorMessage(status.error) }, 'nats error');
          break;
        case 'ldm':
          log.warn({ server: redactUrl(status.server) }, 'nats server entering lame duck mode');
          break;
        case 'slowConsumer':
          log.warn({ pending: status.pending }, 'nats slow consumer');
          break;
        default:
          break;
      }
    }
  })().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'nats status loop ended'));
  return nc;
}
