// A tiny RESP server for the demo's cache-1: PING, AUTH, INFO [section …], QUIT, ECHO and an
// error for anything else, enough for the agent's redis source and for redis-cli.

import { createServer, type Server, type Socket } from 'node:net';

export interface RespServerOptions {
  /** The INFO text for the sections asked (none: the default sections). */
  info(sections: readonly string[]): string;
  /** When set, every command but AUTH and QUIT is refused (NOAUTH) until AUTH succeeds. */
  password?: string;
  onConnection?(): void;
  /** Called for each command run (not for those refused). */
  onCommand?(name: string, bytesIn: number, bytesOut: number): void;
}

/** A request larger than this is not one we answer: the connection is closed. */
const MAX_REQUEST_BYTES = 64 * 1024;

const simple = (text: string) => `+${text}\r\n`;
const error = (text: string) => `-${text}\r\n`;
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

/**
 * Reads one command from the front of the buffer: a RESP array of bulk strings, or an inline
 * command (a line of words, as telnet sends). Undefined while incomplete; throws on garbage.
 */
export function readCommand(buffer: Buffer): { args: string[]; used: number } | undefined {
  const eol = buffer.indexOf('\r\n');
  if (eol < 0) return undefined;
  if (buffer[0] !== 0x2a) {
    const line = buffer.subarray(0, eol).toString('utf8').trim();
    return { args: line === '' ? [] : line.split(/\s+/), used: eol + 2 };
  }
  const count = Number(buffer.subarray(1, eol).toString('latin1'));
  if (!Number.isInteger(count) || count < 0 || count > 1024) {
    throw new Error('Protocol error: invalid multibulk length');
  }
  const args: string[] = [];
  let pos = eol + 2;
  for (let i = 0; i < count; i++) {
    const end = buffer.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    if (buffer[pos] !== 0x24) throw new Error("Protocol error: expected '$'");
    const length = Number(buffer.subarray(pos + 1, end).toString('latin1'));
    if (!Number.isInteger(length) || length < 0 || length > MAX_REQUEST_BYTES) {
      throw new Error('Protocol error: invalid bulk length');
    }
    const start = end + 2;
    if (buffer.length < start + length + 2) return undefined;
    args.push(buffer.subarray(start, start + length).toString('utf8'));
    pos = start + length + 2;
  }
  return { args, used: pos };
}

function unknown(args: readonly string[]): string {
  const rest = args
    .slice(1)
    .map((a) => `'${a.slice(0, 128)}' `)
    .join('');
  return error(`ERR unknown command '${args[0]}', with args beginning with: ${rest}`);
}

const wrongArity = (name: string) =>
  error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);

/** The reply to one command, and whether to close the connection after it. */
function answer(
  args: readonly string[],
  options: RespServerOptions,
  session: { authed: boolean },
): { reply: string; close?: boolean; ran: boolean } {
  const name = (args[0] ?? '').toUpperCase();
  if (name === 'QUIT') return { reply: simple('OK'), close: true, ran: true };
  if (name === 'AUTH') {
    if (args.length < 2 || args.length > 3) return { reply: wrongArity(name), ran: false };
    if (options.password === undefined) {
      return {
        reply: error(
          'ERR AUTH <password> called without any password configured for the default user. ' +
            'Are you sure your configuration is correct?',
        ),
        ran: false,
      };
    }
    const user = args.length === 3 ? args[1] : 'default';
    if (user !== 'default' || args[args.length - 1] !== options.password) {
      return {
        reply: error('WRONGPASS invalid username-password pair or user is disabled.'),
        ran: false,
      };
    }
    session.authed = true;
    return { reply: simple('OK'), ran: true };
  }
  if (!session.authed) return { reply: error('NOAUTH Authentication required.'), ran: false };
  switch (name) {
    case 'PING':
      if (args.length > 2) return { reply: wrongArity(name), ran: false };
      return { reply: args.length === 2 ? bulk(args[1]!) : simple('PONG'), ran: true };
    case 'ECHO':
      if (args.length !== 2) return { reply: wrongArity(name), ran: false };
      return { reply: bulk(args[1]!), ran: true };
    case 'INFO':
      return { reply: bulk(options.info(args.slice(1))), ran: true };
    default:
      return { reply: unknown(args), ran: false };
  }
}

export function createRespServer(options: RespServerOptions): Server {
  return createServer((socket: Socket) => {
    options.onConnection?.();
    const session = { authed: options.password === undefined };
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      try {
        for (let command = readCommand(buffer); command; command = readCommand(buffer)) {
          buffer = buffer.subarray(command.used);
          if (command.args.length === 0) continue;
          const { reply, close, ran } = answer(command.args, options, session);
          if (ran) options.onCommand?.(command.args[0]!, command.used, Buffer.byteLength(reply));
          socket.write(reply);
          if (close) return void socket.end();
        }
        if (buffer.length > MAX_REQUEST_BYTES) throw new Error('Protocol error: too big request');
      } catch (err) {
        socket.end(error(`ERR ${(err as Error).message}`));
      }
    });
  });
}
