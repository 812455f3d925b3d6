// The cluster area's maintenance: auto-scaling passes over the active clusters (expired leases
// back to the queue, then each one measured, decided and applied in its own transaction), and the
// hourly expiry of acknowledged messages past BRAIN_MESSAGE_RETENTION_HOURS, of destroyed clusters
// past the retention period and of old cluster_metrics rows.
import { PURGE_INTERVAL_MS, purged, type MaintenanceTask } from '../core/maintenance.js';
import type { ClusterService } from './service.js';

export function clusterTasks(clusters: ClusterService, opts: { scaleIntervalMs: number }): MaintenanceTask[] {
  return [
    {
      name: 'clusters.autoscale',
      // 0 turns auto-scaling off (BRAIN_CLUSTER_SCALE_INTERVAL_SEC=0); `cluster autoscale` still works.
      intervalMs: opts.scaleIntervalMs,
      run() {
        const pass = clusters.autoscaleActive();
        // Scalings are events of their own (cluster.autoscaled); a failure here becomes a maintenance error event.
        if (pass.failed.length) throw new Error(`auto-scaling failed for ${pass.failed.join(', ')} (see the log)`);
        return { details: { clusters: pass.clusters, up: pass.up, down: pass.down } };
      },
    },
    {
      name: 'purge.clusters',
      intervalMs: PURGE_INTERVAL_MS,
      startDelayMs: 0,
      run: () => purged('clusters', { messages: clusters.purgeMessages(), clusters: clusters.purgeDestroyed(), cluster_metrics: clusters.purgeMetrics() }),
    },
  ];
}
