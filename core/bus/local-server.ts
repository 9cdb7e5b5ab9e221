// Runs a local `nats-server -js` under the data dir when no NATS URL is configured:
// starts it, waits until it accepts clients, and stops it on exit.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { StartupError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';

export interface LocalNatsOptions {
  /** Folder for JetStream files and the pid file. */
  dir: string;
  binary: string;
  address: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** How long to wait for "Server is ready". */
  startTimeoutMs?: number;
  /** More nats-server flags, e.g. --user/--pass (tests use it for auth). */
  extraArgs?: readonly string[];
}

export interface LocalNats {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export const INSTALL_HINT =
  'install it with `apt-get install nats-server` (Debian/Ubuntu) or `brew install nats-server` (macOS), ' +
  'or set nats.url (HALO_NATS_URL) to use a running server';

/** The executable a command name resolves to on PATH, or undefined. */
function findExecutable(binary: string): string | undefined {
  const candidates = binary.includes('/')
    ? [binary]
    : (process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, binary));
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * On Linux the server is started through setpriv with a parent-death signal, so that it stops
 * even when Halo is killed outright (SIGKILL, OOM). setpriv execs the server: the pid stays.
 */
function launcher(binary: string, args: string[]): [string, string[]] {
  if (process.platform === 'linux' && existsSync('/usr/bin/setpriv')) {
    return ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', binary, ...args]];
  }
  return [binary, args];
}

function isOurOrphan(pid: number, storeDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('nats-server')) && cmdline.includes(storeDir);
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/**
 * A nats-server left behind by a Halo that was killed outright would hold the store; the data
 * dir lock is ours now, so a server still running on our store dir is an orphan: stop it.
 */
async function stopOrphan(pidFile: string, storeDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isOurOrphan(pid, storeDir)) return;
  log.warn({ pid }, 'stopping a nats-server left behind by an earlier run');
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 5000))) process.kill(pid, 'SIGKILL');
}

export async function startLocalNats(options: LocalNatsOptions): Promise<LocalNats> {
  const log = options.logger.child({ module: 'nats-server' });
  const storeDir = join(options.dir, 'jetstream');
  const pidFile = join(options.dir, 'nats-server.pid');
  try {
    mkdirSync(storeDir, { recursive: true });
  } catch (err) {
    throw new StartupError(`cannot create ${storeDir}: ${errorMessage(err)}`, { cause: err });
  }
  await stopOrphan(pidFile, storeDir, log);
  const binary = findExecutable(options.binary);
  if (binary === undefined) {
    throw new StartupError(`${options.binary} is not installed: ${INSTALL_HINT}`);
  }

  const args = [
    '-js',
    '-a',
    options.address,
    '-p',
    options.port === 0 ? '-1' : String(options.port),
    '-sd',
    storeDir,
    '-P',
    pidFile,
    '-n',
    'halo-local',
    ...(options.extraArgs ?? []),
  ];
  let child: ChildProcess;
  try {
    const [command, commandArgs] = launcher(binary, args);
    child = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new StartupError(`cannot start ${options.binary}: ${errorMessage(err)}`, { cause: err });
  }

  const url = await new Promise<string>((resolve, reject) => {
    let port: string | undefined;
    let lastError = '';
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new StartupError(
          `nats-server did not become ready in ${options.startTimeoutMs ?? 10_000} ms${lastError ? `: ${lastError}` : ''}`,
        ),
      );
    }, options.startTimeoutMs ?? 10_000);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new StartupError(`${options.binary} is not installed: ${INSTALL_HINT}`)
          : new StartupError(`cannot start ${options.binary}: ${err.message}`, { cause: err }),
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new StartupError(
          `nats-server exited during start (${signal ?? `code ${code}`})${lastError ? `: ${lastError}` : ''}`,
        ),
      );
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (/\[(ERR|FTL)\]/.test(line)) lastError = line.replace(/^.*\[(ERR|FTL)\]\s*/, '');
        const listening = /Listening for client connections on ([^\s]+):(\d+)/.exec(line);
        if (listening) port = listening[2];
        if (/Server is ready/.test(line) && port !== undefined) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve(`nats://${options.address}:${port}`);
        }
        if (/\[(WRN|ERR|FTL)\]/.test(line)) log.warn({ line }, 'nats-server');
      }
    });
  });

  const pid = child.pid!;
  let stopping = false;
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      if (!stopping) log.error({ code, signal }, 'nats-server exited');
      resolve();
    });
  });
  log.info({ url, pid, dir: options.dir }, 'nats-server started');

  return {
    url,
    pid,
    async stop(): Promise<void> {
      if (exited) return;
      stopping = true;
      child.kill('SIGTERM');
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 8000).unref());
      await Promise.race([exit, timeout]);
      if (!exited) {
        log.warn({ pid }, 'nats-server did not stop in 8 s; killing it');
        child.kill('SIGKILL');
        await exit;
      }
      log.info({ pid }, 'nats-server stopped');
    },
  };
}
