// Configuration: every BRAIN_* environment variable is read here, once, and validated with zod.
// A bad value stops start-up with a message that names the variable, so nobody has to guess.
import { z } from 'zod';
import { CAPABILITIES, xdgDefaults, type Capability } from './paths.js';

export { CAPABILITIES, type Capability };

const capabilities = z
  .string()
  .transform((v, ctx) => {
    const names = v.toLowerCase().split(/[\s,]+/).filter(Boolean);
    if (names.includes('all')) return [...CAPABILITIES];
    const unknown = names.filter((n) => !(CAPABILITIES as readonly string[]).includes(n));
    if (unknown.length || !names.length) {
      ctx.addIssue({
        code: 'custom',
        message: `${unknown.length ? `no capability named ${unknown.map((n) => `"${n}"`).join(', ')}` : 'name at least one capability'}: use a comma-separated list of ${CAPABILITIES.join(', ')} (or all)`,
      });
      return z.NEVER;
    }
    return CAPABILITIES.filter((c) => names.includes(c));
  });

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

/**
 * The variables brain understands. Keys are the environment variable names; the parsed config
 * uses the camelCase names on the right (see `Config`).
 */
function envSchema(env: NodeJS.ProcessEnv) {
  const d = xdgDefaults(env);
  return z.object({
    BRAIN_DB_PATH: z.string().min(1).default(d.dbPath),
    BRAIN_NOTES_PATH: z.string().min(1).default(d.notesPath),
    BRAIN_EXECUTION_PATH: z.string().min(1).default(d.executionPath),
    BRAIN_BACKUP_PATH: z.string().min(1).default(d.backupPath),
    BRAIN_LOG_PATH: z.string().min(1).default(d.logPath),
    BRAIN_LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    BRAIN_LOG_FILES: bool.default(true),
    BRAIN_TOOLS: capabilities.default([...CAPABILITIES]),

    // Memory store
    BRAIN_MAX_CONTENT_KB: int(1, 10_240).default(256),
    BRAIN_HOT_TIER_MAX_ITEMS: int(0, 1_000_000).default(2000),
    BRAIN_HOT_TIER_MAX_MB: num(0, 4096).default(16),
    BRAIN_REBALANCE_INTERVAL_MIN: int(0, 10_080).default(15),
    BRAIN_RETENTION_DAYS: int(0, 3650).default(30),
    BRAIN_CACHE_SIZE_MB: int(1, 65_536).default(16),
    BRAIN_MMAP_SIZE_MB: int(0, 1_048_576).default(0),
    BRAIN_RECALL_INDEX: bool.default(true),
    BRAIN_BUSY_TIMEOUT_MS: int(100, 600_000).default(15_000),

    // Sessions and init
    BRAIN_INIT_BUDGET_CHARS: int(500, 200_000).default(8_000),
    BRAIN_SESSION_TTL_HOURS: num(0.01, 24 * 365).default(24),

    // Notes: fs.watch picks up edits made outside brain; a full stat pass is the backstop.
    BRAIN_NOTES_WATCH: bool.default(true),
    BRAIN_NOTES_RESCAN_SEC: int(0, 86_400).default(60),
    BRAIN_NOTES_POLL_MS: int(0, 3_600_000).default(2000),

    // Clusters: acknowledged messages are kept this long; auto-scaling looks at active clusters this often (0 = off).
    BRAIN_MESSAGE_RETENTION_HOURS: num(0.01, 24 * 3650).default(24),
    BRAIN_CLUSTER_SCALE_INTERVAL_SEC: int(0, 86_400).default(30),

    // Execution
    BRAIN_MAX_MEMORY_MB: int(16, 65_536).default(512),
    BRAIN_MAX_EXECUTION_TIME_MS: int(100, 3_600_000).default(30_000),
    BRAIN_MAX_OUTPUT_SIZE_MB: num(0.01, 1024).default(10),
    BRAIN_WORKER_MIN: int(0, 64).default(1),
    BRAIN_WORKER_MAX: int(1, 64).default(4),
    BRAIN_SANDBOX_USER: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name: lowercase letters, digits, "_" or "-"').refine((u) => u !== 'nobody' && u !== 'root', 'firejail cannot run sandboxes as nobody or root; use brain-sandbox (scripts/setup-sandbox.sh creates it)').default('brain-sandbox'),
    BRAIN_SANDBOX_WARM: int(0, 8).default(1),
    BRAIN_EXECUTION_QUEUE_MAX: int(0, 10_000).default(16),
    BRAIN_EXECUTION_INLINE_KB: int(1, 256).default(8),
    BRAIN_MAX_PROCESSES: int(4, 4096).default(64),
    BRAIN_MAX_FILE_SIZE_MB: int(1, 65_536).default(64),
    BRAIN_MAX_IMAGE_KB: int(1, 16_384).default(512),
    BRAIN_FIREJAIL_PATH: z.string().min(1).default('/usr/bin/firejail'),
    BRAIN_SANDBOX_PYTHON: z.string().min(1).default('/usr/bin/python3'),
    BRAIN_SANDBOX_CGROUP: z.enum(['auto', 'off']).default('auto'),
    // Per project workspace; 0 = no quota. As root each workspace is a filesystem of this size.
    BRAIN_WORKSPACE_QUOTA_MB: int(0, 1_048_576).refine((v) => v === 0 || v >= 16, 'use 0 (no quota) or at least 16 (MB)').default(256),
    BRAIN_WORKSPACE_MAX_FILES: int(64, 100_000_000).default(100_000),

    // Operations
    BRAIN_METRICS_PORT: int(0, 65_535).default(0),
    BRAIN_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    BRAIN_VACUUM_INTERVAL_HOURS: num(0, 24 * 365).default(24),
    BRAIN_HEALTH_CHECK_INTERVAL_MS: int(1000, 3_600_000).default(30_000),
    BRAIN_SOCKET_PATH: z.string().min(1).default(d.socketPath),
    BRAIN_USE_DAEMON: z.enum(['auto', 'never']).default('auto'),
    // How long a bridged `brain` waits for a restarted `brain serve` before it carries on embedded.
    BRAIN_BRIDGE_WAIT_SEC: int(0, 3600).default(20),
    BRAIN_HTTP_ADDR: z
      .string()
      .regex(/^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}$/, 'use a loopback address and port, e.g. 127.0.0.1:8787 (put a TLS proxy in front for anything else)')
      .optional(),
    BRAIN_HTTP_TOKEN: z.string().min(16, 'use at least 16 characters (e.g. openssl rand -hex 32)').optional(),
    BRAIN_HTTP_TOKEN_FILE: z.string().min(1).optional(),
    // Backups (daemon): a recovery point at most 15 minutes old, thinned to hourly, daily and weekly.
    BRAIN_BACKUP_INTERVAL_MIN: num(0, 525_600).optional(),
    // The older name, in hours; BRAIN_BACKUP_INTERVAL_MIN wins when both are set.
    BRAIN_BACKUP_INTERVAL_HOURS: num(0, 24 * 365).optional(),
    BRAIN_BACKUP_KEEP: int(1, 10_000).default(4),
    BRAIN_BACKUP_KEEP_HOURLY: int(0, 10_000).default(24),
    BRAIN_BACKUP_KEEP_DAILY: int(0, 10_000).default(7),
    BRAIN_BACKUP_KEEP_WEEKLY: int(0, 10_000).default(4),
    BRAIN_BACKUP_DELETE_AFTER_DAYS: num(0, 36_500).default(35),
    BRAIN_BACKUP_HOOK: z.string().min(1).optional(),
    BRAIN_BACKUP_HOOK_TIMEOUT_SEC: int(1, 86_400).default(600),
    BRAIN_SLOW_QUERY_MS: num(0, 600_000).default(100),
  });
}

export type Config = ReturnType<typeof toConfig>;

function toConfig(e: z.infer<ReturnType<typeof envSchema>>) {
  return {
    dbPath: e.BRAIN_DB_PATH,
    notesPath: e.BRAIN_NOTES_PATH,
    executionPath: e.BRAIN_EXECUTION_PATH,
    backupPath: e.BRAIN_BACKUP_PATH,
    logPath: e.BRAIN_LOG_PATH,
    logLevel: e.BRAIN_LOG_LEVEL,
    logFiles: e.BRAIN_LOG_FILES,
    /** The capability groups whose tools are offered, in CAPABILITIES order. */
    tools: e.BRAIN_TOOLS as Capability[],
    maxContentBytes: e.BRAIN_MAX_CONTENT_KB * 1024,
    hotTierMaxItems: e.BRAIN_HOT_TIER_MAX_ITEMS,
    hotTierMaxBytes: Math.round(e.BRAIN_HOT_TIER_MAX_MB * 1024 * 1024),
    rebalanceIntervalMs: e.BRAIN_REBALANCE_INTERVAL_MIN * 60_000,
    retentionDays: e.BRAIN_RETENTION_DAYS,
    cacheSizeMb: e.BRAIN_CACHE_SIZE_MB,
    mmapSizeMb: e.BRAIN_MMAP_SIZE_MB,
    recallIndex: e.BRAIN_RECALL_INDEX,
    busyTimeoutMs: e.BRAIN_BUSY_TIMEOUT_MS,
    initBudgetChars: e.BRAIN_INIT_BUDGET_CHARS,
    sessionTtlMs: Math.round(e.BRAIN_SESSION_TTL_HOURS * 3_600_000),
    notesWatch: e.BRAIN_NOTES_WATCH,
    notesRescanMs: e.BRAIN_NOTES_RESCAN_SEC * 1000,
    notesPollMs: e.BRAIN_NOTES_POLL_MS,
    messageRetentionHours: e.BRAIN_MESSAGE_RETENTION_HOURS,
    clusterScaleIntervalMs: e.BRAIN_CLUSTER_SCALE_INTERVAL_SEC * 1000,
    maxMemoryMb: e.BRAIN_MAX_MEMORY_MB,
    maxExecutionTimeMs: e.BRAIN_MAX_EXECUTION_TIME_MS,
    maxOutputBytes: Math.round(e.BRAIN_MAX_OUTPUT_SIZE_MB * 1024 * 1024),
    workerMin: e.BRAIN_WORKER_MIN,
    workerMax: e.BRAIN_WORKER_MAX,
    sandboxUser: e.BRAIN_SANDBOX_USER,
    sandboxWarm: e.BRAIN_SANDBOX_WARM,
    executionQueueMax: e.BRAIN_EXECUTION_QUEUE_MAX,
    executionInlineBytes: e.BRAIN_EXECUTION_INLINE_KB * 1024,
    maxProcesses: e.BRAIN_MAX_PROCESSES,
    maxFileBytes: e.BRAIN_MAX_FILE_SIZE_MB * 1024 * 1024,
    maxImageBytes: e.BRAIN_MAX_IMAGE_KB * 1024,
    firejailPath: e.BRAIN_FIREJAIL_PATH,
    sandboxPython: e.BRAIN_SANDBOX_PYTHON,
    sandboxCgroup: e.BRAIN_SANDBOX_CGROUP,
    workspaceQuotaBytes: e.BRAIN_WORKSPACE_QUOTA_MB * 1024 * 1024,
    workspaceMaxFiles: e.BRAIN_WORKSPACE_MAX_FILES,
    metricsPort: e.BRAIN_METRICS_PORT,
    metricsHost: e.BRAIN_METRICS_HOST,
    vacuumIntervalHours: e.BRAIN_VACUUM_INTERVAL_HOURS,
    healthCheckIntervalMs: e.BRAIN_HEALTH_CHECK_INTERVAL_MS,
    socketPath: e.BRAIN_SOCKET_PATH,
    /** Whether embedded `brain` bridges to a running `brain serve` on the same database (src/daemon/discover.ts). */
    useDaemon: e.BRAIN_USE_DAEMON,
    /** How long a bridge waits for its daemon to come back before running embedded (src/daemon/bridge.ts). */
    bridgeWaitMs: e.BRAIN_BRIDGE_WAIT_SEC * 1000,
    httpAddr: e.BRAIN_HTTP_ADDR,
    httpToken: e.BRAIN_HTTP_TOKEN,
    httpTokenFile: e.BRAIN_HTTP_TOKEN_FILE,
    backupIntervalMs: Math.round((e.BRAIN_BACKUP_INTERVAL_MIN ?? (e.BRAIN_BACKUP_INTERVAL_HOURS !== undefined ? e.BRAIN_BACKUP_INTERVAL_HOURS * 60 : 15)) * 60_000),
    backupRetention: {
      keep: e.BRAIN_BACKUP_KEEP,
      hourly: e.BRAIN_BACKUP_KEEP_HOURLY,
      daily: e.BRAIN_BACKUP_KEEP_DAILY,
      weekly: e.BRAIN_BACKUP_KEEP_WEEKLY,
      maxAgeMs: Math.round(e.BRAIN_BACKUP_DELETE_AFTER_DAYS * 86_400_000),
    },
    backupHook: e.BRAIN_BACKUP_HOOK,
    backupHookTimeoutMs: e.BRAIN_BACKUP_HOOK_TIMEOUT_SEC * 1000,
    slowQueryMs: e.BRAIN_SLOW_QUERY_MS,
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the config from an environment (process.env by default). Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const schema = envSchema(env);
  // Empty strings count as "not set": `BRAIN_X= brain` should mean the default, not an error.
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') input[key] = v.trim();
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      // Never echo a secret into logs or a terminal that someone may be sharing.
      const shown = /TOKEN|SECRET|PASSWORD/.test(name) ? '(hidden)' : JSON.stringify(input[name]);
      return `${name}=${shown}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.BRAIN_WORKER_MIN > e.BRAIN_WORKER_MAX) {
    throw new ConfigError(
      `invalid configuration:\n  BRAIN_WORKER_MIN=${e.BRAIN_WORKER_MIN} is larger than BRAIN_WORKER_MAX=${e.BRAIN_WORKER_MAX}`,
    );
  }
  if (e.BRAIN_HTTP_ADDR && !e.BRAIN_HTTP_TOKEN && !e.BRAIN_HTTP_TOKEN_FILE) {
    throw new ConfigError(
      `invalid configuration:\n  BRAIN_HTTP_ADDR=${e.BRAIN_HTTP_ADDR} needs a bearer token: set BRAIN_HTTP_TOKEN or BRAIN_HTTP_TOKEN_FILE`,
    );
  }
  return toConfig(e);
}

/** The names of every variable brain reads, for `brain doctor` and the README. */
export function configVariableNames(): string[] {
  return Object.keys(envSchema({}).shape);
}
