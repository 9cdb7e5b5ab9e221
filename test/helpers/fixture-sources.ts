// Source types for agent tests: a sequence gauge and counter whose every collection is recorded,
// and a source that fails on demand. They stand in for a tier's server, not for the bus or store.

import { z } from 'zod';
import type { Collection, SourceDefinition } from '../../collector/agent/types.ts';

export interface SequenceState {
  /** Collection timestamps, in order. */
  collected: number[];
  fail: boolean;
}

/** One entry per source created, in order of creation. */
export const sequenceStates: Array<{ name: string; state: SequenceState }> = [];

const sequenceOptions = z.strictObject({ fail: z.boolean().default(false) });

/** Emits `test_seq` (gauge: 1, 2, 3, …) and `test_requests_total` (counter growing by 2). */
export const sequenceSource: SourceDefinition<typeof sequenceOptions> = {
  type: 'sequence',
  options: sequenceOptions,
  create(options, deps) {
    const state: SequenceState = { collected: [], fail: options.fail };
    sequenceStates.push({ name: deps.name, state });
    return {
      name: deps.name,
      type: 'sequence',
      async collect(ctx): Promise<Collection> {
        if (state.fail) throw new Error('target refused the connection');
        const ts = ctx.now();
        state.collected.push(ts);
        const n = state.collected.length;
        return {
          samples: [
            { name: 'test_seq', labels: { quote: 'say "hi"\n✓' }, value: n, type: 'gauge', ts },
            {
              name: 'test_requests_total',
              labels: { code: '200' },
              value: 2 * n,
              type: 'counter',
              ts,
            },
          ],
        };
      },
    };
  },
};
