// The memory area's maintenance: tiers rebalanced on a schedule (and once soon after start-up for
// a file that was never rebalanced), expired memories and old history removed.
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import type { MemoryService } from './service.js';

export interface MemoryTaskOptions {
  /** BRAIN_REBALANCE_INTERVAL_MIN; 0 turns scheduled rebalancing off, the start-up one included. */
  rebalanceIntervalMs: number;
  /** When a never-rebalanced file gets its first rebalance: after the MCP handshake, not in its way. */
  firstRebalanceDelayMs: number;
}

export function memoryTasks(memories: MemoryService, opts: MemoryTaskOptions): MaintenanceTask[] {
  return [
    {
      name: 'rebalance',
      intervalMs: opts.rebalanceIntervalMs,
      async run() {
        const r = await memories.rebalanceInSlices('schedule');
        return r.promoted || r.demoted
          ? { event: `memory tiers rebalanced: ${r.promoted} promoted, ${r.demoted} demoted; hot tier holds ${r.hot_items}`, details: { ...r } }
          : { details: { ...r } };
      },
    },
    {
      // A file that was never rebalanced (a fresh import, say) has an empty hot tier, and init then
      // ranks every memory itself: its first rebalance comes seconds after start, not an interval on.
      name: 'rebalance.startup',
      intervalMs: 0,
      startDelayMs: opts.rebalanceIntervalMs > 0 ? opts.firstRebalanceDelayMs : undefined,
      async run() {
        if (!memories.neverRebalanced()) return;
        const r = await memories.rebalanceInSlices('startup');
        return { event: `memory tiers rebalanced for the first time: ${r.promoted} promoted; hot tier holds ${r.hot_items}`, details: { ...r } };
      },
    },
    {
      name: 'purge.memories',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('memories and history', memories.purge()),
    },
  ];
}
