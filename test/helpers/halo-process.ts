// For tests that run `halo` as a process: the environment of a new user (no HALO_* variable but
// those given) and whether a process is still alive.

/** process.env without Halo's variables (HALO_*, NATS_URL, CLICKHOUSE_*), plus `extra`. */
export function haloEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('HALO_') || key === 'NATS_URL' || key.startsWith('CLICKHOUSE_')) {
      delete env[key];
    }
  }
  return { ...env, ...extra };
}

/** True while a process of that pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
