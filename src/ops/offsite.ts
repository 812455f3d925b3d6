// The off-site hook: an operator's command (BRAIN_BACKUP_HOOK, e.g. `restic -r sftp:host:/srv/brain
// backup` or a script around `rclone copy`) run after each verified backup, so that losing the host
// does not lose the backups with it. It gets the backup's path (and the notes archive's, when there
// is one) as its last arguments and in BRAIN_BACKUP_FILE / BRAIN_BACKUP_NOTES, runs in its own
// process group, and is killed with that group when it overruns its time.
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface HookResult {
  status: 'ok' | 'failed' | 'timeout';
  exit_code: number | null;
  signal: string | null;
  elapsed_ms: number;
  /** The end of what it printed (stdout and stderr together), for the event that reports it. */
  output: string;
}

/** What is kept of the hook's output: enough for rclone's or restic's closing error lines. */
const OUTPUT_TAIL = 2000;
/** How long after the hook exits its output may still arrive. */
const PIPE_DRAIN_MS = 500;
/** After SIGTERM at its timeout, how long the hook's processes get before SIGKILL. */
const KILL_GRACE_MS = 5000;

/** Runs `command` with `files` appended as arguments; never throws (a hook that cannot start has failed). */
export function runBackupHook(command: string, files: readonly string[], timeoutMs: number): Promise<HookResult> {
  const started = performance.now();
  // The bearer tokens unlock brain's own endpoints; nothing off-site needs them.
  const env: NodeJS.ProcessEnv = { ...process.env, BRAIN_BACKUP_FILE: files[0], BRAIN_BACKUP_NOTES: files[1] ?? '' };
  delete env.BRAIN_HTTP_TOKEN;
  delete env.BRAIN_HTTP_TOKEN_FILE;
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let settled = false;
    const child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'brain-backup-hook', ...files], {
      cwd: path.dirname(files[0]),
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* the group is gone already */
      }
    };
    let grace: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      grace = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      // What the hook left running in its group (a backgrounded upload) ends with it.
      if (!spawnError) killGroup('SIGKILL');
      resolve({
        status: timedOut ? 'timeout' : code === 0 ? 'ok' : 'failed',
        exit_code: code,
        signal,
        elapsed_ms: Math.round(performance.now() - started),
        output: (spawnError ? spawnError.message : output).trim(),
      });
    };
    child.on('error', (err) => finish(null, null, err));
    // 'close' comes once the pipes are drained; a grandchild that keeps them open must not hold the
    // result up for longer than a moment after the hook itself ended.
    child.on('close', (code, signal) => finish(code, signal));
    child.on('exit', (code, signal) => setTimeout(() => finish(code, signal), PIPE_DRAIN_MS));
  });
}

/** One sentence for the event and the log. */
export function describeHookFailure(r: HookResult, timeoutMs: number): string {
  const why = r.status === 'timeout' ? `was stopped after ${Math.round(timeoutMs / 1000)} s (BRAIN_BACKUP_HOOK_TIMEOUT_SEC)` : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exit_code}`;
  return `the off-site backup hook (BRAIN_BACKUP_HOOK) ${why}; the backup is kept only on this host${r.output ? `. It printed: ${r.output.slice(-300)}` : ''}`;
}
