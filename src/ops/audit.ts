// `brain audit`: what a security review of one brain looks at, gathered from what brain already
// keeps: executions that ran into a limit, HTTP requests refused at the door (failed logins among
// them, from the log files), the sandbox's state (the running service's /health, and the events),
// and who may read brain's files. Every finding is something a person should look at; none is
// fixed here.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { toDbTime } from '../core/db.js';
import type { ExecutionService } from '../execution/service.js';
import type { EventsService } from '../events/service.js';

export interface AuditFinding {
  section: 'executions' | 'http' | 'sandbox' | 'permissions';
  message: string;
}

export interface LimitHit {
  id: number;
  created_at: string;
  project: string;
  status: string;
  limit: string;
  cpu_ms: number | null;
  code_chars: number;
}

export interface Refusal {
  time: string;
  port: string;
  reason: string;
  status: number | null;
  remote: string | null;
  /** This line and the ones the rate-limited log folded into it. */
  count: number;
}

export interface PathMode {
  path: string;
  kind: 'file' | 'directory';
  mode: string;
  owner: number;
  problem?: string;
}

export interface AuditReport {
  since: string;
  days: number;
  findings: AuditFinding[];
  executions: { limit_hits: LimitHit[]; by_limit: Record<string, number> };
  http: { refusals: Refusal[]; by_reason: Record<string, number>; failed_logins: number; logs_read: string[]; note?: string };
  secrets: { recorded: false; note: string };
  sandbox: { service: string; events: { id: number; created_at: string; type: string; severity: string; message: string }[] };
  permissions: PathMode[];
}

export interface AuditDeps {
  config: Config;
  executions: Pick<ExecutionService, 'list'>;
  events: Pick<EventsService, 'list'>;
  now?: number;
  /** The running service's GET /health, when a metrics port is configured (undefined: no answer). */
  health?: () => Promise<{ status: number; body: unknown } | undefined>;
}

/** Limit statuses, and the notes brain writes when a run hit the workspace quota (see the execution service). */
const LIMIT_STATUSES = ['timeout', 'oom', 'output_truncated', 'rejected'] as const;
const WORKSPACE_NOTE = /BRAIN_WORKSPACE_(QUOTA_MB|MAX_FILES)/;

/** Refusals that are someone trying to get in, not a busy server or a client's mistake. */
const HOSTILE = new Set(['token', 'host', 'origin', 'browser']);

const PAGE = 500;

function limitHits(deps: AuditDeps, since: string): LimitHit[] {
  const hits: LimitHit[] = [];
  const collect = (status: string | undefined, limitOf: (row: { status: string; error: string | null }) => string | undefined) => {
    let beforeId: number | undefined;
    for (;;) {
      const rows = deps.executions.list({ status: status as never, since, beforeId, limit: PAGE });
      for (const r of rows) {
        const limit = limitOf(r);
        if (limit) hits.push({ id: r.id, created_at: r.created_at, project: r.project, status: r.status, limit, cpu_ms: r.cpu_ms, code_chars: r.code.length });
      }
      if (rows.length < PAGE) return;
      beforeId = rows.at(-1)!.id;
    }
  };
  const names: Record<string, string> = { timeout: 'wall time', oom: 'memory', output_truncated: 'output size', rejected: 'queue full' };
  for (const s of LIMIT_STATUSES) collect(s, () => names[s]);
  collect('failed', (r) => (r.error && WORKSPACE_NOTE.test(r.error) ? 'workspace quota' : undefined));
  return hits.sort((a, b) => b.id - a.id);
}

/** combined.log and its rotated copies (winston names them combined1.log, combined2.log, ...). */
function logFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^combined\d*\.log$/.test(n)).map((n) => path.join(dir, n));
}

function refusals(config: Config, sinceMs: number): AuditReport['http'] {
  const files = logFiles(config.logPath);
  const out: Refusal[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('HTTP request refused')) continue;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const m = /^HTTP request refused \((\w+)\)$/.exec(String(rec.message));
      const at = Date.parse(String(rec.timestamp));
      if (!m || !(at >= sinceMs)) continue;
      out.push({
        time: new Date(at).toISOString(),
        port: String(rec.port ?? ''),
        reason: m[1],
        status: typeof rec.status === 'number' ? rec.status : null,
        remote: typeof rec.remote === 'string' ? rec.remote : null,
        count: 1 + (typeof rec.not_logged_since === 'number' ? rec.not_logged_since : 0),
      });
    }
  }
  out.sort((a, b) => b.time.localeCompare(a.time));
  const byReason: Record<string, number> = {};
  for (const r of out) byReason[r.reason] = (byReason[r.reason] ?? 0) + r.count;
  const note = !config.logFiles
    ? 'BRAIN_LOG_FILES is false: refusals are only in the service journal (journalctl -u brain | grep "HTTP request refused")'
    : files.length === 0
      ? `no log files in ${config.logPath} (BRAIN_LOG_PATH) yet`
      : undefined;
  return { refusals: out, by_reason: byReason, failed_logins: byReason.token ?? 0, logs_read: files, ...(note ? { note } : {}) };
}

function modeOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/** Whether every directory above `p` lets `who` through (x bit): a 0644 file in a 0700 directory is private. */
function reachable(p: string, bit: number): boolean {
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    const st = modeOf(dir);
    if (!st || !(st.mode & bit)) return false;
    if (dir === path.dirname(dir)) return true;
  }
}

/**
 * Who may read brain's files. Nothing may be open to other users; the database, its WAL, backups
 * and the token file may not be writable by the group either (the group is for connecting to the
 * socket: the unit's UMask=0027 gives 0640 files and 0750 directories). A path counts only when
 * the directories above it let that user or group through.
 */
function permissions(config: Config): PathMode[] {
  const db = path.resolve(config.dbPath);
  const secret = [db, `${db}-wal`, `${db}-shm`, ...(config.httpTokenFile ? [path.resolve(config.httpTokenFile)] : [])];
  const dirs = [path.dirname(db), config.notesPath, config.logPath, config.backupPath, config.executionPath].map((p) => path.resolve(p));
  const out: PathMode[] = [];
  const check = (p: string, strict: boolean) => {
    const st = modeOf(p);
    if (!st) return;
    const mode = st.mode & 0o7777;
    const kind = st.isDirectory() ? 'directory' : 'file';
    const others = reachable(p, 0o001);
    const group = reachable(p, 0o011);
    let problem: string | undefined;
    if (others && mode & 0o002) problem = 'writable by every user on the host';
    else if (others && mode & 0o004 && (strict || kind === 'file')) problem = 'readable by every user on the host';
    else if (group && strict && mode & 0o020) problem = 'writable by its group';
    // The execution folder is 0755 on purpose: as root, the sandbox user walks through it.
    else if (others && kind === 'directory' && mode & 0o001 && p !== path.resolve(config.executionPath)) problem = 'open to every user on the host (o+x: files in it with o+r can be read)';
    out.push({ path: p, kind, mode: mode.toString(8).padStart(4, '0'), owner: st.uid, ...(problem ? { problem } : {}) });
  };
  for (const p of secret) check(p, true);
  for (const d of [...new Set(dirs)]) check(d, false);
  const backups = path.resolve(config.backupPath);
  let names: string[] = [];
  try {
    names = fs.readdirSync(backups).filter((n) => n.startsWith('brain_'));
  } catch {
    names = [];
  }
  for (const n of names) check(path.join(backups, n), true);
  for (const f of logFiles(config.logPath)) check(f, false);
  return out;
}

export async function runAudit(deps: AuditDeps, days: number): Promise<AuditReport> {
  const now = deps.now ?? Date.now();
  const sinceMs = now - days * 86_400_000;
  const since = toDbTime(sinceMs);
  const findings: AuditFinding[] = [];

  const hits = limitHits(deps, since);
  const byLimit: Record<string, number> = {};
  for (const h of hits) byLimit[h.limit] = (byLimit[h.limit] ?? 0) + 1;
  for (const [limit, n] of Object.entries(byLimit)) findings.push({ section: 'executions', message: `${n} execution(s) stopped at the ${limit} limit` });

  const http = refusals(deps.config, sinceMs);
  for (const [reason, n] of Object.entries(http.by_reason)) {
    if (!HOSTILE.has(reason)) continue;
    findings.push({ section: 'http', message: reason === 'token' ? `${n} HTTP request(s) with a missing or wrong bearer token (failed logins)` : `${n} HTTP request(s) refused for their ${reason} (DNS rebinding or a web page calling brain)` });
  }

  const events = deps.events
    .list({ types: ['execution.sandbox_unavailable', 'execution.sandbox_failed'], since }, 50)
    .rows
    .map((e) => ({ id: e.id, created_at: e.created_at, type: e.event_type, severity: e.severity, message: e.message }));
  let service = 'no metrics port configured (BRAIN_METRICS_PORT): the running service was not asked';
  if (deps.health) {
    const h = await deps.health();
    if (!h) service = `nothing answers on ${deps.config.metricsHost}:${deps.config.metricsPort}: brain serve is not running`;
    else {
      const workers = (h.body as { checks?: { workers?: { status?: string; detail?: string } } })?.checks?.workers;
      service = workers ? `${workers.status}: ${workers.detail ?? ''}`.trim() : `GET /health answered ${h.status} without a workers check`;
      if (!workers || workers.status === 'failing') findings.push({ section: 'sandbox', message: `the running service's sandbox is not usable (${service})` });
    }
  }
  const failures = events.filter((e) => e.type === 'execution.sandbox_failed').length;
  const unavailable = events.filter((e) => e.type === 'execution.sandbox_unavailable').length;
  if (failures) findings.push({ section: 'sandbox', message: `${failures} execution(s) the sandbox could not run` });
  if (unavailable) findings.push({ section: 'sandbox', message: `the sandbox was unavailable ${unavailable} time(s) (self-test failed or host not ready)` });

  const perms = permissions(deps.config);
  for (const p of perms) if (p.problem) findings.push({ section: 'permissions', message: `${p.path} (${p.mode}) is ${p.problem}` });

  return {
    since: new Date(sinceMs).toISOString(),
    days,
    findings,
    executions: { limit_hits: hits, by_limit: byLimit },
    http,
    secrets: {
      recorded: false,
      note: 'remember refuses text that looks like a credential with an error to the caller; brain keeps no record of refusals, so there is nothing to count here',
    },
    sandbox: { service, events },
    permissions: perms,
  };
}
