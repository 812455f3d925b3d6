// One backup as the daemon's schedule, POST /admin/backup and `brain backup` take it: the verified
// copy with the configured retention, the last-success gauge, then the off-site hook, whose
// failure is an event (`backup.offsite`, severity error) and a metric the alert rules watch. The
// local backup stands either way: a hook that fails does not make the backup fail.
import type { Config } from '../core/config.js';
import type { Db } from '../core/db.js';
import type { Metrics } from '../core/metrics.js';
import type { EventsService } from '../events/service.js';
import { backupDatabase, type BackupResult, type OperationProgress } from './backup.js';
import { describeHookFailure, runBackupHook, type HookResult } from './offsite.js';

export interface BackupJobDeps {
  db: Db;
  config: Config;
  metrics: Metrics;
  events: Pick<EventsService, 'record'>;
}

export interface BackupJobResult extends BackupResult {
  /** What the off-site hook did; null when no hook is configured. */
  offsite: (HookResult & { message?: string }) | null;
}

export async function takeBackup(deps: BackupJobDeps, opts: { dir?: string; progress?: OperationProgress } = {}): Promise<BackupJobResult> {
  const { db, config, metrics, events } = deps;
  const r = await backupDatabase(db, opts.dir ?? config.backupPath, config.backupRetention, Date.now(), config.notesPath, opts.progress);
  metrics.backupLastSuccess.set(Date.now() / 1000);
  if (!config.backupHook) return { ...r, offsite: null };
  opts.progress?.step('running the off-site hook (BRAIN_BACKUP_HOOK)');
  const hook = await runBackupHook(config.backupHook, r.notes ? [r.file, r.notes] : [r.file], config.backupHookTimeoutMs);
  metrics.backupOffsiteRuns.inc({ status: hook.status });
  if (hook.status === 'ok') {
    metrics.backupOffsiteLastSuccess.set(Date.now() / 1000);
    return { ...r, offsite: hook };
  }
  metrics.backupOffsiteLastFailure.set(Date.now() / 1000);
  const message = describeHookFailure(hook, config.backupHookTimeoutMs);
  events.record('backup.offsite', 'error', message, { file: r.file, notes: r.notes, ...hook });
  return { ...r, offsite: { ...hook, message } };
}
