// The `notify:` section of halo.yaml: receivers and delivery, the routing tree, named time
// intervals and inhibition, with the tree's receiver and interval names checked against them.

import { z } from 'zod';
import { inhibitConfigSchema } from '../inhibit/index.ts';
import { receiversShape } from '../receivers/config.ts';
import { addRouteIssues, routeTreeSchema } from '../route/index.ts';
import { timeIntervalsSchema } from '../timeintervals/index.ts';

export const notifyConfigSchema = z
  .strictObject({
    ...receiversShape,
    route: routeTreeSchema,
    time_intervals: timeIntervalsSchema,
    inhibit: inhibitConfigSchema,
    /** Where links in notifications point (Halo's own address, as a receiver sees it). */
    external_url: z
      .string({ error: 'expected a URL' })
      .url({ error: 'expected a URL like https://halo.example.com' })
      .default('http://localhost:8080'),
  })
  .superRefine((n, ctx) =>
    addRouteIssues(
      ctx,
      ['route'],
      n.route,
      n.receivers.map((r) => r.name),
      n.time_intervals.map((t) => t.name),
    ),
  );

export type NotifyConfig = z.output<typeof notifyConfigSchema>;
