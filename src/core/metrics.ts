// Prometheus metrics: one explicit registry per process and a typed object of every metric,
// named <app>_<subsystem>_<what>_<unit>. The names below marked "contract" are the ones the
// operations guide (and its dashboards and alerts) expect.
import client from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new client.Registry();
  if (opts.defaultMetrics) {
    // No prefix: prom-client's prefix would rename these too, and the Node.js and process dashboards
    // and alerts operators already have look for process_* and nodejs_* (brain's own stay brain_*).
    client.collectDefaultMetrics({ register: registry });
    // These three are gauges named like counters, which Prometheus' linter (promtool check metrics)
    // rejects; the same numbers are in nodejs_active_{handles,requests,resources} by type.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) registry.removeSingleMetric(`nodejs_${name}`);
  }
  const registers = [registry];
  /** The execution area plugs its pool in here; the gauges read it at scrape time. */
  const executionSource = {
    queueSize: (): number => 0,
    workers: (): { id: string; healthy: boolean }[] => [],
  };
  return {
    executionSource,
    /** contract */
    executionQueueSize: new client.Gauge({
      name: 'brain_execution_queue_size',
      help: 'Executions waiting for a worker.',
      registers,
      collect() {
        this.set(executionSource.queueSize());
      },
    }),
    /** contract */
    workerStatus: new client.Gauge({
      name: 'brain_worker_status',
      help: 'Execution worker status (1=healthy, 0=unhealthy: sandbox unavailable).',
      labelNames: ['worker_id'] as const,
      registers,
      collect() {
        this.reset();
        for (const w of executionSource.workers()) this.set({ worker_id: w.id }, w.healthy ? 1 : 0);
      },
    }),
    executions: new client.Counter({
      name: 'brain_executions_total',
      help: 'Executions by final status (succeeded, failed, timeout, oom, output_truncated, cancelled, rejected).',
      labelNames: ['status'] as const,
      registers,
    }),
    executionDuration: new client.Histogram({
      name: 'brain_execution_duration_seconds',
      help: 'Wall time of executions inside the sandbox, by final status.',
      labelNames: ['status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    sandboxStarts: new client.Counter({
      name: 'brain_sandbox_starts_total',
      help: 'Sandboxes used by executions: warm (started ahead of time) or cold (started for the call).',
      labelNames: ['kind'] as const,
      registers,
    }),
    registry,
    /** contract */
    requestDuration: new client.Histogram({
      name: 'brain_mcp_request_duration_seconds',
      help: 'Time brain spent handling one MCP tool call (its own time, not the transport).',
      labelNames: ['tool', 'status'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5, 30],
      registers,
    }),
    toolErrors: new client.Counter({
      name: 'brain_mcp_tool_errors_total',
      help: 'Tool calls that ended in an error, by kind (user = fixable input, internal = a bug or a failure).',
      labelNames: ['tool', 'kind'] as const,
      registers,
    }),
    /** contract */
    memoryOperations: new client.Counter({
      name: 'brain_memory_operations_total',
      help: 'Memory operations by operation and by the tier they touched.',
      labelNames: ['operation', 'tier'] as const,
      registers,
    }),
    memoryTierItems: new client.Gauge({
      name: 'brain_memory_tier_items',
      help: 'Memories in each storage tier.',
      labelNames: ['tier'] as const,
      registers,
    }),
    hotTierUtilisation: new client.Gauge({
      name: 'brain_memory_hot_tier_utilisation_ratio',
      help: 'Hot tier items over its item budget (1 = full).',
      registers,
    }),
    tierMoves: new client.Counter({
      name: 'brain_memory_tier_moves_total',
      help: 'Memories moved between tiers by rebalancing.',
      labelNames: ['direction'] as const,
      registers,
    }),
    /** contract */
    activeSessions: new client.Gauge({
      name: 'brain_active_sessions',
      help: 'MCP sessions connected to this process.',
      registers,
    }),
    notesReconcile: new client.Histogram({
      name: 'brain_notes_reconcile_duration_seconds',
      help: 'Full passes comparing every note file with the notes index (start-up, folder changes, the periodic backstop).',
      buckets: [0.005, 0.025, 0.1, 0.25, 1, 5, 30],
      registers,
    }),
    notesExternalChanges: new client.Counter({
      name: 'brain_notes_external_changes_total',
      help: 'Note files found added, changed or removed outside this brain process (editors, git, other brain processes).',
      labelNames: ['change'] as const,
      registers,
    }),
    clusterMessages: new client.Counter({
      name: 'brain_cluster_messages_total',
      help: 'Message deliveries between cluster agents, by audience (direct, role, broadcast); a broadcast counts once per recipient.',
      labelNames: ['audience'] as const,
      registers,
    }),
    clusterTasksFinished: new client.Counter({
      name: 'brain_cluster_tasks_finished_total',
      help: 'Task attempts that ended, by outcome: succeeded; failed or expired (lease ran out), both back to the queue; dead (attempts used up).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    /** contract */
    databaseSize: new client.Gauge({
      name: 'brain_database_size_bytes',
      help: 'Size of the SQLite database file including its WAL.',
      registers,
    }),
    // Operations (daemon, maintenance, backups): what alerts are written against.
    buildInfo: new client.Gauge({
      name: 'brain_build_info',
      help: 'Always 1; labels say which brain and Node are running.',
      labelNames: ['version', 'node_version'] as const,
      registers,
    }),
    backupLastSuccess: new client.Gauge({
      name: 'brain_backup_last_success_timestamp_seconds',
      help: 'Unix time of the last backup that completed and passed its integrity check (0 = none since start).',
      registers,
    }),
    backupOffsiteRuns: new client.Counter({
      name: 'brain_backup_offsite_runs_total',
      help: 'Runs of the off-site backup hook (BRAIN_BACKUP_HOOK) by outcome: ok, failed, timeout.',
      labelNames: ['status'] as const,
      registers,
    }),
    backupOffsiteLastSuccess: new client.Gauge({
      name: 'brain_backup_offsite_last_success_timestamp_seconds',
      help: 'Unix time the off-site backup hook last succeeded, by this process or as the events recorded it (0 = none recorded, or no hook).',
      registers,
    }),
    backupOffsiteLastFailure: new client.Gauge({
      name: 'brain_backup_offsite_last_failure_timestamp_seconds',
      help: 'Unix time the off-site backup hook last failed or timed out, by this process or as the events recorded it (0 = none recorded).',
      registers,
    }),
    maintenanceRuns: new client.Counter({
      name: 'brain_maintenance_runs_total',
      help: 'Scheduled maintenance task runs by task and outcome.',
      labelNames: ['task', 'status'] as const,
      registers,
    }),
    maintenanceMode: new client.Gauge({
      name: 'brain_maintenance_mode',
      help: '1 while maintenance mode refuses new sessions.',
      registers,
    }),
    healthStatus: new client.Gauge({
      name: 'brain_health_status',
      help: 'Result of each health check (1 = ok, 0.5 = degraded, 0 = failing).',
      labelNames: ['check'] as const,
      registers,
    }),
    httpRefused: new client.Counter({
      name: 'brain_http_refused_total',
      help: 'HTTP requests refused before any work, by port (mcp, ops) and reason (token, host, origin, browser, session, size, busy).',
      labelNames: ['port', 'reason'] as const,
      registers,
    }),
    httpSessions: new client.Gauge({
      name: 'brain_http_sessions',
      help: 'MCP sessions open over Streamable HTTP (each also counts in brain_active_sessions).',
      registers,
    }),
    slowQueries: new client.Counter({
      name: 'brain_slow_queries_total',
      help: 'Database work slower than BRAIN_SLOW_QUERY_MS (each is also a row in query_log).',
      registers,
    }),
    // Clusters: one series per active cluster, set by each auto-scaling pass (every
    // BRAIN_CLUSTER_SCALE_INTERVAL_SEC) and removed when the cluster stops being active.
    clusterAgents: new client.Gauge({
      name: 'brain_cluster_agents',
      help: 'Agents of an active cluster by state (idle, busy, retired).',
      labelNames: ['cluster', 'state'] as const,
      registers,
    }),
    clusterWorkers: new client.Gauge({
      name: 'brain_cluster_workers',
      help: 'Workers of an active cluster that can take work (not retired, not draining).',
      labelNames: ['cluster'] as const,
      registers,
    }),
    clusterMaxWorkers: new client.Gauge({
      name: 'brain_cluster_max_workers',
      help: 'Most workers an active cluster may scale to.',
      labelNames: ['cluster'] as const,
      registers,
    }),
    clusterTasks: new client.Gauge({
      name: 'brain_cluster_tasks',
      help: 'Tasks on an active cluster\'s board by status (queued, running, dead = the dead letter).',
      labelNames: ['cluster', 'status'] as const,
      registers,
    }),
    clusterBacklogPerWorker: new client.Gauge({
      name: 'brain_cluster_backlog_per_worker',
      help: 'Queued tasks workers may claim, per worker (per 1 when there are none): what scales a cluster up.',
      labelNames: ['cluster'] as const,
      registers,
    }),
    clusterMessagesPending: new client.Gauge({
      name: 'brain_cluster_messages_pending',
      help: 'Messages to an active cluster\'s agents not yet acknowledged.',
      labelNames: ['cluster'] as const,
      registers,
    }),
    clusterHealthScore: new client.Gauge({
      name: 'brain_cluster_health_score',
      help: 'Health of an active cluster from 0 to 1 (stuck agents, backlog over the policy, tasks dead in the last hour).',
      labelNames: ['cluster'] as const,
      registers,
    }),
    clusterScalingDecisions: new client.Counter({
      name: 'brain_cluster_scaling_decisions_total',
      help: 'Auto-scaling decisions applied, by direction (up, down, none = looked and left it as it was).',
      labelNames: ['direction'] as const,
      registers,
    }),
    events: new client.Counter({
      name: 'brain_events_total',
      help: 'System events recorded, by type and severity.',
      labelNames: ['type', 'severity'] as const,
      registers,
    }),
  };
}
