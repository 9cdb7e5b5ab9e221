// Starts the real web-side servers of each tier for tests (nginx, haproxy, node_exporter) on free
// ports in temp dirs; the agent source tests and the HA stack share them.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { portOpen, startProcess, type Started } from './process.ts';
import { tempDir } from './temp.ts';

// ------------------------------------------------------------------------------------- nginx

/** nginx's combined log format followed by $request_time, as the logs source reads it. */
export const NGINX_TIMED_FORMAT = `log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status '
                   '$body_bytes_sent "$http_referer" "$http_user_agent" $request_time';`;

export interface NginxServer {
  port: number;
  /** The prefix folder: config, pid, logs and temp paths are in it. */
  dir: string;
  server: Started;
}

export interface NginxOptions {
  /** Directives inside http { }, given the prefix folder (log formats, access logs). */
  http?: (dir: string) => string;
  /** Directives inside the one server { } (locations). */
  server?: (dir: string) => string;
}

function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  // As root, workers would run as nobody and could not use the temp paths in the test folder.
  const user = process.getuid?.() === 0 ? 'user root;' : '';
  return `${user}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${options.http?.(dir) ?? ''}
  server {
    listen 127.0.0.1:${port};
${options.server?.(dir) ?? ''}
  }
}
`;
}

export async function startNginx(options: NginxOptions = {}): Promise<NginxServer> {
  const dir = tempDir('halo-nginx-');
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, options));
  const server = await startProcess(
    'nginx',
    ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { ready: () => portOpen(port) },
  );
  return { port, dir, server };
}

// ----------------------------------------------------------------------------------- haproxy

export interface HaproxyServer {
  frontend: number;
  /** Stats page without a login (append ;csv for the CSV). */
  stats: number;
  /** Stats page behind the login halo:<statsPassword>. */
  statsAuth: number;
  socket: string;
  server: Started;
}

function haproxyConfig(p: Omit<HaproxyServer, 'server'>, web: number[], password: string): string {
  const servers = web.map(
    (port, i) => `  server web${i + 1} 127.0.0.1:${port} check inter 300ms fall 2 rise 1`,
  );
  return `global
  stats socket ${p.socket} mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:${p.frontend}
  default_backend web
backend web
  balance roundrobin
  option httpchk GET /
${servers.join('\n')}
listen stats
  bind 127.0.0.1:${p.stats}
  stats enable
  stats uri /stats
listen stats_auth
  bind 127.0.0.1:${p.statsAuth}
  stats enable
  stats uri /stats
  stats auth halo:${password}
`;
}

/** True when every server of backend `web` is UP on the stats CSV. */
async function backendUp(statsPort: number, servers: number): Promise<boolean> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
  const up = csv
    .split('\n')
    .map((line) => line.split(','))
    .filter(([proxy, server]) => proxy === 'web' && server?.startsWith('web'));
  return up.length === servers && up.every((row) => row[17] === 'UP');
}

/** A frontend `fe` balancing backend `web` over the given ports; ready once all are UP. */
export async function startHaproxy(options: {
  web: number[];
  statsPassword?: string;
}): Promise<HaproxyServer> {
  const dir = tempDir('halo-haproxy-');
  const ports = {
    frontend: await freePort(),
    stats: await freePort(),
    statsAuth: await freePort(),
    socket: join(dir, 'admin.sock'),
  };
  const password = options.statsPassword ?? 'halo-stats';
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(ports, options.web, password));
  const server = await startProcess('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], {
    ready: async () =>
      existsSync(ports.socket) &&
      (await portOpen(ports.stats)) &&
      (await portOpen(ports.frontend)) &&
      // Servers start up before their first check: ready once every check has passed.
      backendUp(ports.stats, options.web.length),
  });
  return { ...ports, server };
}

// ----------------------------------------------------------------------------- node_exporter

/** node_exporter with only the named collectors (those that work in a container). */
export async function startNodeExporter(
  collectors: string[],
  extraArgs: string[] = [],
): Promise<{ url: string; server: Started }> {
  const port = await freePort();
  const server = await startProcess(
    'prometheus-node-exporter',
    [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      ...collectors.map((name) => `--collector.${name}`),
      ...extraArgs,
    ],
    { ready: () => portOpen(port) },
  );
  return { url: `http://127.0.0.1:${port}/metrics`, server };
}
