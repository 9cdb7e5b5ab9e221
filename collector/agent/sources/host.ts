// The host source: CPU, load, memory, disks, filesystems, network and cgroup v2 figures of this
// machine, read from /proc, /sys and statfs under node_exporter's (and cAdvisor's) metric names.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '../../../core/config/schema.ts';
import type { RawSample, Source, SourceDefinition } from '../types.ts';
import { cgroupSamples, ownCgroup } from '../host/cgroups.ts';
import { boundedStatfs, filesystemSamples, parseMounts } from '../host/filesystems.ts';
import { dedupe, readKernelFile } from '../host/kernel-files.ts';
import {
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseStat,
  wholeDisks,
} from '../host/proc.ts';

export { cgroupSamples, type CgroupFiles } from '../host/cgroups.ts';
export { boundedStatfs, parseMounts, type Mount } from '../host/filesystems.ts';
export { readKernelFile } from '../host/kernel-files.ts';
export {
  parseDiskstats,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseStat,
  type DiskFilter,
} from '../host/proc.ts';

/** Pseudo and read-only image filesystems: no capacity worth watching. overlay is kept because
 * it is the root filesystem of a container. */
export const DEFAULT_EXCLUDED_FS_TYPES = [
  'proc',
  'sysfs',
  'tmpfs',
  'devtmpfs',
  'devpts',
  'cgroup',
  'cgroup2',
  'autofs',
  'mqueue',
  'securityfs',
  'debugfs',
  'tracefs',
  'pstore',
  'bpf',
  'fusectl',
  'configfs',
  'nsfs',
  'binfmt_misc',
  'hugetlbfs',
  'rpc_pipefs',
  'squashfs',
];

/** node_exporter's default: kernel trees and the layers of container runtimes. */
const DEFAULT_EXCLUDED_MOUNTS =
  '^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)';

/** A regular expression key; an empty string means "exclude nothing" (new RegExp('') matches all). */
const pattern = (fallback: string) =>
  z
    .string({ error: 'expected a regular expression' })
    .default(fallback)
    .transform((value, ctx) => {
      if (value === '') return undefined;
      try {
        return new RegExp(value);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a valid regular expression',
          input: value,
        });
        return z.NEVER;
      }
    });

const dirPath = (fallback: string) =>
  z
    .string({ error: 'expected a directory path' })
    .min(1, { error: 'expected a directory path' })
    .default(fallback);

/**
 * A cgroup to report: "self" is the agent's own cgroup (the `0::` line of <proc_path>/self/cgroup),
 * "." or "" the root of cgroup_path (in a container with its own cgroup namespace: the container),
 * anything else a path below cgroup_path such as "system.slice/nginx.service".
 */
const cgroupEntry = z
  .string({ error: 'expected a cgroup path below cgroup_path, "." or "self"' })
  .refine((value) => !value.split('/').includes('..'), {
    error: 'expected a cgroup path below cgroup_path, without ".."',
  });

export const hostOptions = z.strictObject({
  proc_path: dirPath('/proc'),
  sys_path: dirPath('/sys'),
  cgroup_path: dirPath('/sys/fs/cgroup'),
  filesystems: z
    .strictObject({
      exclude_types: z
        .array(z.string({ error: 'expected a filesystem type like "tmpfs"' }), {
          error: 'expected a list of filesystem types',
        })
        .default(DEFAULT_EXCLUDED_FS_TYPES),
      exclude_mounts: pattern(DEFAULT_EXCLUDED_MOUNTS),
      /** Each mount's own bound: a hung NFS server costs this much, once, then is skipped. */
      timeout: duration('2s', { ms: 10, text: '10ms' }),
    })
    .prefault({}),
  disks: z.strictObject({ exclude: pattern('^(z?ram|loop|fd)\\d+$') }).prefault({}),
  /** Loopback says nothing about the host's traffic; veth pairs come and go with containers. */
  network: z.strictObject({ exclude: pattern('^(lo|veth.*)$') }).prefault({}),
  cgroups: z.array(cgroupEntry, { error: 'expected a list of cgroup paths' }).default([]),
});

export const hostSource: SourceDefinition<typeof hostOptions> = {
  type: 'host',
  options: hostOptions,
  create(options, deps): Source {
    const pending = new Set<string>();
    const logger = deps.logger.child({ module: 'host', source: deps.name });
    const proc = (file: string) => join(options.proc_path, file);

    async function collectCgroups(signal: AbortSignal, deviceNames: Map<string, string>) {
      if (options.cgroups.length === 0) return [];
      // Without cgroup.controllers this is no cgroup v2 tree (v1, hybrid or hidden): no series.
      const root = options.cgroup_path;
      if ((await readKernelFile(join(root, 'cgroup.controllers'), signal)) === undefined) return [];
      const self = options.cgroups.includes('self')
        ? ownCgroup(await readKernelFile(proc('self/cgroup'), signal))
        : undefined;
      const samples: RawSample[] = [];
      for (const entry of options.cgroups) {
        const path = entry === 'self' ? self : entry;
        if (path === undefined) continue;
        const relative = path.split('/').filter((part) => part !== '' && part !== '.');
        const dir = join(root, ...relative);
        const read = (file: string) => readKernelFile(join(dir, file), signal);
        const [cpuStat, memoryCurrent, memoryMax, memoryStat, ioStat] = await Promise.all(
          ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'io.stat'].map(read),
        );
        const files = { cpuStat, memoryCurrent, memoryMax, memoryStat, ioStat };
        samples.push(...cgroupSamples(`/${relative.join('/')}`, files, deviceNames));
      }
      return samples;
    }

    async function collectFilesystems(mountsText: string | undefined, signal: AbortSignal) {
      const mounts = mountsText ? parseMounts(mountsText, options.filesystems) : [];
      const timeoutMs = options.filesystems.timeout.ms;
      const bound = { timeoutMs, signal, pending, logger };
      const results = await Promise.all(mounts.map((m) => boundedStatfs(m.mountpoint, bound)));
      return mounts.flatMap((mount, i) => {
        const fs = results[i];
        return fs ? filesystemSamples(mount, fs) : [];
      });
    }

    return {
      name: deps.name,
      type: 'host',
      async collect(ctx) {
        const procInfo = await stat(options.proc_path).catch((err: NodeJS.ErrnoException) => {
          throw new Error(`read ${options.proc_path}: ${err.code ?? err.message}`);
        });
        if (!procInfo.isDirectory()) throw new Error(`read ${options.proc_path}: not a directory`);
        const read = (file: string) => readKernelFile(proc(file), ctx.signal);
        const [statText, loadavg, meminfo, diskstats, netDev, mounts, disks] = await Promise.all([
          read('stat'),
          read('loadavg'),
          read('meminfo'),
          read('diskstats'),
          read('net/dev'),
          read('mounts'),
          wholeDisks(options.sys_path),
        ]);
        const diskFilter = { exclude: options.disks.exclude, wholeDisks: disks };
        const disk = parseDiskstats(diskstats ?? '', diskFilter);
        const [filesystems, cgroups] = await Promise.all([
          collectFilesystems(mounts, ctx.signal),
          collectCgroups(ctx.signal, disk.names),
        ]);
        const samples = [
          ...parseStat(statText ?? ''),
          ...parseLoadavg(loadavg ?? ''),
          ...parseMeminfo(meminfo ?? ''),
          ...disk.samples,
          ...parseNetDev(netDev ?? '', options.network.exclude),
          ...filesystems,
          ...cgroups,
        ];
        return { samples: dedupe(samples) };
      },
    };
  },
};
