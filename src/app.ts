// Composes the areas into one brain: the only file that knows them all. Everything is built from
// the config and passed in, so tests can make a complete brain on a temp file in one line.
import { openDatabase, type Db } from './core/db.js';
import { packageVersion } from './core/version.js';
import { createLogger, silentLogger, type Logger } from './core/logger.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { startCheckpointer } from './core/checkpointer.js';
import { createNoticeBoard, type NoticeBoard } from './core/notices.js';
import { watchIntegrity } from './core/integrity-watch.js';
import { createServer } from './core/server.js';
import { CAPABILITIES, type Capability, type Config } from './core/config.js';
import type { AnyTool, SessionState } from './core/tool.js';
import type { AreaTransfer } from './core/transfer.js';
import { createMemoryService, type MemoryService } from './memory/service.js';
import { memoryTools } from './memory/tools.js';
import { memoryTasks } from './memory/tasks.js';
import { initPrompt, sessionTools } from './sessions/tools.js';
import { createExecutionService, type ExecutionService } from './execution/service.js';
import { executionTools } from './execution/tools.js';
import { executionResources } from './execution/resources.js';
import { executionTasks } from './execution/tasks.js';
import { createEventsService, type EventsService } from './events/service.js';
import { eventTools } from './events/tools.js';
import { eventTasks } from './events/tasks.js';
import { opsTasks } from './ops/maintenance.js';
import { slowQueryRecorder, type SlowQueryRecorder } from './ops/query-log.js';
import { createSessionService, type SessionService } from './sessions/service.js';
import { createScheduler, type Scheduler } from './ops/scheduler.js';
import { getSetting, setSetting } from './ops/settings.js';
import { sessionTasks } from './sessions/tasks.js';
import { createProjectService, type ProjectService } from './projects/service.js';
import { projectTools } from './projects/tools.js';
import { projectInitSection } from './projects/init-section.js';
import { createNotesService, type NotesService } from './notes/service.js';
import { noteTools } from './notes/tools.js';
import { noteTasks } from './notes/tasks.js';
import { notesInitSection } from './notes/init-section.js';
import { searchTools } from './search/tools.js';
import { noteResources } from './notes/resources.js';
import { projectResources } from './projects/resources.js';
import { createClusterService, type ClusterService } from './clusters/service.js';
import { clusterTools } from './clusters/tools.js';
import { workTools } from './clusters/work-tools.js';
import { clusterTasks } from './clusters/tasks.js';

/**
 * The server instructions, a line per enabled capability: clients put them in the system prompt
 * of every conversation, so they stay under 1 KB and never mention a tool that is not offered.
 */
const INSTRUCTION_LINES: Record<Capability, string> = {
  memory:
    '- Before answering anything that may depend on earlier work, call recall with a few words.\n' +
    '- When you learn a lasting preference, decision, fact or lesson, call remember (type "user_preferences" for how the user likes things done; reuse a key to update). Never store secrets; forget what is wrong.',
  notes: '- Long-form text (designs, plans, meeting notes) goes in a note; search finds notes and memories together.',
  projects: '- Work inside a project (init {project} or project use) and save its goals, decisions and conventions there.',
  events: '- events logs what happened (deploys, incidents) beside brain\'s own backups and failures.',
  execution: '- execute runs Python or bash in a sandbox without network.',
  clusters: '- Teams of agents: blueprint saves a team\'s YAML; cluster runs it and exports Claude Code subagents; agents use message and task.',
};

export function instructionsFor(enabled: readonly Capability[]): string {
  const head = enabled.includes('memory')
    ? 'brain gives you a memory that lasts between conversations.\n- Call init once at the start of each conversation; follow the preferences it returns.'
    : 'brain keeps your work between conversations.\n- Call init once at the start of each conversation.';
  return [head, ...CAPABILITIES.filter((c) => enabled.includes(c)).map((c) => INSTRUCTION_LINES[c])].join('\n');
}

/** Every capability on: what `brain` says with no BRAIN_TOOLS. */
export const INSTRUCTIONS = instructionsFor(CAPABILITIES);

/** One capability group and its tools; `init` is its own group, always offered. */
export interface CapabilityGroup {
  name: Capability | 'init';
  enabled: boolean;
  tools: AnyTool[];
}

export { packageVersion };

/**
 * - `embedded`: `brain` on stdio, one process per conversation, several may share the file;
 * - `daemon`: `brain serve`, the one long-lived process on the file;
 * - `oneshot`: CLI commands and tests: tasks run only when asked (`brain maintain`), nothing on timers.
 */
export type AppMode = 'embedded' | 'daemon' | 'oneshot';

/** When a full quick_check last found the file sound (ms), in the config table. */
const INTEGRITY_CHECKED = 'integrity_checked_at';

/**
 * What each serving mode leaves off its timers (still runnable on demand, e.g. POST /admin/backup).
 * Embedded processes come and go with conversations and share the file with each other: a backup
 * or a VACUUM there would hold every other process on the file for its length (seconds at 100k
 * memories). The daemon does both, or cron with scripts/backup.sh and scripts/db-maintenance.sh.
 */
export const UNSCHEDULED: Record<Exclude<AppMode, 'oneshot'>, readonly string[]> = {
  embedded: ['backup', 'optimize'],
  daemon: [],
};

export interface AppOptions {
  logger?: Logger;
  metrics?: Metrics;
  /** Default `oneshot`. The serving modes run maintenance, warm the sandbox up and checkpoint the WAL from a worker thread. */
  mode?: AppMode;
  /** When a never-rebalanced file gets its first rebalance (default 3 s, after the handshake). */
  firstRebalanceDelayMs?: number;
}

export interface App {
  config: Config;
  db: Db;
  logger: Logger;
  metrics: Metrics;
  memories: MemoryService;
  sessions: SessionService;
  events: EventsService;
  /** Records database work slower than BRAIN_SLOW_QUERY_MS in query_log. */
  slowQuery: SlowQueryRecorder;
  projects: ProjectService;
  notes: NotesService;
  executions: ExecutionService;
  /** Agent teams: blueprints, the cluster lifecycle and agents. */
  clusters: ClusterService;
  /** The one maintenance scheduler: running on timers in the serving modes, on demand in every mode. */
  maintenance: Scheduler;
  /** Warnings for every open MCP session (sent to clients as log messages). */
  notices: NoticeBoard;
  /**
   * Each area's half of the full export, in the order an import needs: projects before what
   * lives in them, memories, notes, events, then teams (a cluster before its agents).
   */
  transfers: AreaTransfer[];
  /** The tools offered: init and those of the enabled capabilities. */
  tools: AnyTool[];
  /** Every capability group with its tools, on or off (for brain doctor and the README). */
  capabilities: CapabilityGroup[];
  /** A new MCP server for one connection (stdio: one; daemon: one per socket client). */
  connect(): ReturnType<typeof createServer>;
  /** Stops maintenance, the execution pool (killing every sandbox) and closes the database. Safe to call more than once. */
  close(): void;
}

export function createApp(config: Config, opts: AppOptions = {}): App {
  const logger = opts.logger ?? silentLogger();
  const metrics = opts.metrics ?? createMetrics();
  const notices = createNoticeBoard();
  const db = openDatabase(config.dbPath, { busyTimeoutMs: config.busyTimeoutMs, cacheSizeMb: config.cacheSizeMb, mmapSizeMb: config.mmapSizeMb });
  const mode = opts.mode ?? 'oneshot';
  // A serving process checkpoints the WAL from a worker thread, off its commits (checkpointer.ts);
  // a one-shot command has no requests to keep fast.
  const checkpointer = mode !== 'oneshot' ? startCheckpointer(db, logger) : undefined;
  // A file too large to check before start-up is checked while serving, once a day at most (by
  // whichever process starts first: embedded ones start with every conversation); damage stops
  // every write.
  const integrity =
    mode !== 'oneshot'
      ? watchIntegrity(db, {
          onDamage: (err) => logger.error(err.message),
          onSkipped: (reason) => logger.warn(reason),
          due: () => !(Date.now() - Number(getSetting(db, INTEGRITY_CHECKED) ?? 0) < 86_400_000),
          onSound: () => setSetting(db, INTEGRITY_CHECKED, String(Date.now())),
        })
      : undefined;
  const memories = createMemoryService({
    db,
    budget: { maxItems: config.hotTierMaxItems, maxBytes: config.hotTierMaxBytes },
    maxContentBytes: config.maxContentBytes,
    retentionDays: config.retentionDays,
    recallIndex: config.recallIndex,
    metrics,
    logger,
  });
  const events = createEventsService({ db, metrics, logger, retentionDays: config.retentionDays });
  const slowQuery = slowQueryRecorder(db, metrics, config.slowQueryMs);
  const projects = createProjectService(db);
  const notes = createNotesService({
    db,
    root: config.notesPath,
    watch: config.notesWatch,
    rescanMs: config.notesRescanMs,
    pollMs: config.notesPollMs,
    logger,
    metrics,
    slow: (label, ms) => slowQuery(label, ms),
    onProblems: (project, rel, problems) =>
      notices.publish('warning', `The note ${project || 'global'}/${rel} was indexed with problems: ${problems.join('; ')}.`, { project: project || 'global', path: rel }),
  });
  const sessions = createSessionService({ db, ttlMs: config.sessionTtlMs, retentionDays: config.retentionDays });
  const on = (c: Capability) => config.tools.includes(c);
  const initTools = sessionTools({
    sessions,
    memories: on('memory') ? memories : undefined,
    budgetChars: config.initBudgetChars,
    sections: [...(on('projects') ? [projectInitSection(projects)] : []), ...(on('notes') ? [notesInitSection(notes)] : [])],
    checkProject: (name, create) => void projects.ensureUsable(name, create),
  });
  const projectNames = () => projects.list().map((p) => p.name);
  const prompts = [initPrompt(initTools[0], logger, projectNames)];
  const executions = createExecutionService({
    db,
    config,
    logger,
    metrics,
    onEvent: (type, severity, message, details) => {
      events.record(type, severity, message, details);
      // The sandbox being unavailable is a standing condition every session should hear about
      // (execute will refuse until it is fixed); a sandbox that failed one run is news once.
      if (type === 'execution.sandbox_unavailable') notices.standing('sandbox', { level: severity, message, data: details });
      else if (type === 'execution.sandbox_failed') notices.publish('error', message, details);
    },
  });
  const clusters = createClusterService({
    db,
    logger,
    metrics,
    recordEvent: (type, severity, message, details) => void events.record(type, severity, message, details),
    ensureProject: (name) => void projects.ensureUsable(name, true),
    retentionDays: config.retentionDays,
    messageRetentionHours: config.messageRetentionHours,
    // Read when a cluster is exported, by then the list below is complete.
    toolNames: () => tools.map((t) => t.name),
  });
  const groupTools: Record<Capability, AnyTool[]> = {
    memory: memoryTools(memories, { retentionDays: config.retentionDays }),
    notes: [...noteTools(notes), ...searchTools(on('memory') ? memories : undefined, notes)],
    projects: projectTools(projects, {
      onSwitch: (session) => {
        if (session.id) sessions.touch(session.id, session.project);
      },
    }),
    events: eventTools(events),
    execution: executionTools(executions),
    clusters: [...clusterTools(clusters), ...workTools(clusters)],
  };
  const capabilities: CapabilityGroup[] = [
    { name: 'init', enabled: true, tools: initTools },
    ...CAPABILITIES.map((name) => ({ name, enabled: on(name), tools: groupTools[name] })),
  ];
  const tools: AnyTool[] = capabilities.filter((g) => g.enabled).flatMap((g) => g.tools);
  // A call to a tool of a capability that is off says what turns it on, rather than "unknown tool".
  const disabled = new Map(
    capabilities
      .filter((g) => !g.enabled)
      .flatMap((g) =>
        g.tools.map((t) => [
          t.name,
          `The tool "${t.name}" belongs to brain's ${g.name} capability, which is off in this brain (BRAIN_TOOLS=${config.tools.join(',')}): add ${g.name} to BRAIN_TOOLS (or to brain --tools=) and restart brain to use it.`,
        ] as const),
      ),
  );
  const instructions = instructionsFor(config.tools);
  const resources = [noteResources(notes, config.notesPath, projectNames), projectResources(projects), executionResources(executions)];

  // Every area's upkeep in one list, as its tools are above: the same tasks in every mode.
  const tasks = [
    ...memoryTasks(memories, { rebalanceIntervalMs: config.rebalanceIntervalMs, firstRebalanceDelayMs: opts.firstRebalanceDelayMs ?? 3_000 }),
    ...sessionTasks(sessions),
    ...eventTasks(events),
    ...executionTasks(executions, config.retentionDays),
    ...noteTasks(notes),
    ...clusterTasks(clusters, { scaleIntervalMs: config.clusterScaleIntervalMs }),
    ...opsTasks({ db, config, metrics, events }),
  ];
  const maintenance = createScheduler(
    { db, logger, metrics, events, slow: slowQuery, tasks },
    { unscheduled: mode === 'oneshot' ? tasks.map((t) => t.name) : UNSCHEDULED[mode] },
  );
  if (mode !== 'oneshot') {
    maintenance.start();
    // Host check, self-test and the first waiting sandboxes, in the background.
    executions.warmUp();
  }

  // A session in use must not expire: any tool call extends it (written at most once a minute).
  const lastKept = new WeakMap<SessionState, number>();
  function keepSessionAlive(session: SessionState) {
    if (!session.id) return;
    const now = Date.now();
    if (now - (lastKept.get(session) ?? 0) < 60_000) return;
    lastKept.set(session, now);
    try {
      sessions.touch(session.id, session.project);
    } catch (err) {
      logger.warn('could not extend the session', { error: String(err) });
    }
  }

  let open = 0;
  let closed = false;
  return {
    config,
    db,
    logger,
    metrics,
    memories,
    sessions,
    events,
    slowQuery,
    projects,
    notes,
    executions,
    clusters,
    maintenance,
    notices,
    tools,
    capabilities,
    transfers: [projects.transfer, memories.transfer, notes.transfer, events.transfer, clusters.transfer],
    connect() {
      open++;
      metrics.activeSessions.set(open);
      let ended = false;
      return createServer({
        name: 'brain',
        version: packageVersion(),
        instructions,
        tools,
        disabled,
        resources,
        prompts,
        logger,
        metrics,
        notices,
        onHandlerTime: (tool, ms, session) => {
          slowQuery(`tool ${tool}`, ms);
          keepSessionAlive(session);
        },
        onClose(session: SessionState) {
          if (ended) return;
          ended = true;
          open--;
          metrics.activeSessions.set(open);
          if (session.id && !closed) {
            try {
              sessions.end(session.id);
            } catch (err) {
              logger.warn('could not mark session ended', { error: String(err) });
            }
          }
        },
      });
    },
    close() {
      if (closed) return;
      closed = true;
      void maintenance.stop();
      memories.close();
      notes.close();
      void executions.close();
      checkpointer?.stop();
      integrity?.stop();
      db.close();
    },
  };
}

export function createAppLogger(config: Config, consoleOn = true): Logger {
  return createLogger({ level: config.logLevel, logPath: config.logFiles ? config.logPath : undefined, console: consoleOn });
}
