// Starts a real server process (haproxy, nginx, redis-server, …) for a test and stops it after.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll } from 'vitest';

export interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<Started>();
afterAll(async () => {
  await Promise.all([...running].map((s) => s.stop()));
});

export interface StartOptions extends Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid'> {
  /** Ready when a line of output matches, or when this resolves true (polled). */
  ready: RegExp | (() => Promise<boolean>);
  timeoutMs?: number;
}

/** True when a TCP connection to host:port succeeds. */
export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startProcess(
  command: string,
  args: string[],
  options: StartOptions,
): Promise<Started> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'pipe', 'pipe'],
  } as SpawnOptions);
  let output = '';
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const started: Started = {
    child,
    pid: child.pid ?? -1,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      running.delete(started);
      if (exited) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
  running.add(started);
  let ready = false;
  await new Promise<void>((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const timer = setTimeout(
      () => reject(new Error(`${command} not ready in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const done = (err?: Error) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      if (err) {
        void started.stop('SIGKILL');
        reject(err);
      } else resolve();
    };
    child.once('error', (err) => done(err));
    child.once('exit', (code, signal) => {
      if (!ready)
        done(new Error(`${command} exited (${signal ?? code}) before it was ready:\n${output}`));
    });
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.ready instanceof RegExp && options.ready.test(output)) done();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    if (typeof options.ready === 'function') {
      const check = options.ready;
      void (async () => {
        while (!exited) {
          if (await check().catch(() => false)) return done();
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
    }
  });
  return started;
}
