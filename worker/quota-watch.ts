// Holds one run to its workspace quota. With a filesystem per workspace the kernel refuses writes
// past it and this only notices (statfs) that the workspace got full, to stop the program and say
// why. Without one it is the enforcement itself: it adds the workspace up while the program runs
// and stops it past a limit, so writes between two checks get through.
import fs from 'node:fs';
import { usage } from './workspace-diff.js';

/** The workspace limits a run is held to, and how brain sees the workspace to check them. */
export interface QuotaWatch {
  /** The workspace as brain's own processes reach it. */
  view: string;
  bytes: number;
  files: number;
  how: 'filesystem' | 'walk';
}

export type WorkspaceLimit = 'bytes' | 'files';

/** Free space below which a workspace filesystem counts as full (ext4 keeps a little back). */
const FULL_MARGIN_BYTES = 256 * 1024;
const FILESYSTEM_CHECK_MS = 100;
/** Walks are spaced to cost at most a tenth of the time, and never closer than this. */
const MIN_WALK_CHECK_MS = 100;

/** Which limit the workspace is at, if any. */
export function workspaceAtLimit(q: QuotaWatch): WorkspaceLimit | undefined {
  try {
    if (q.how === 'filesystem') {
      const s = fs.statfsSync(q.view);
      if (s.ffree < 1) return 'files';
      if (s.bavail * s.bsize < FULL_MARGIN_BYTES) return 'bytes';
      return undefined;
    }
    const u = usage(q.view, q.bytes, q.files);
    if (u.entries > q.files) return 'files';
    if (u.bytes > q.bytes) return 'bytes';
  } catch {
    /* the workspace is gone or unreadable: nothing to hold against */
  }
  return undefined;
}

const NO_SPACE = /No space left on device|Disk quota exceeded|\[Errno (28|122)\]/;

export class QuotaWatcher {
  private limit: WorkspaceLimit | undefined;
  private fullBefore: WorkspaceLimit | undefined;
  private timer: NodeJS.Timeout | undefined;
  private q: QuotaWatch;

  /**
   * A workspace already at its quota is not by itself a reason to stop a program (it may be the
   * one deleting files): with a filesystem nothing can grow anyway, and a walked workspace may
   * not grow past where it started.
   */
  constructor(quota: QuotaWatch) {
    this.q = quota;
    this.fullBefore = workspaceAtLimit(quota);
    if (this.fullBefore && quota.how === 'walk') {
      const start = usage(quota.view, Infinity, Infinity);
      this.q = { ...quota, bytes: Math.max(quota.bytes, start.bytes), files: Math.max(quota.files, start.entries) };
      this.fullBefore = undefined;
    }
  }

  /** Checks now and then until stop(); calls `onLimit` once when the workspace reaches its quota. */
  start(onLimit: () => void) {
    const check = () => {
      const t0 = performance.now();
      const hit = workspaceAtLimit(this.q);
      if (hit && !this.fullBefore) {
        this.limit ??= hit;
        onLimit();
        return;
      }
      const next = this.q.how === 'filesystem' ? FILESYSTEM_CHECK_MS : Math.max(MIN_WALK_CHECK_MS, (performance.now() - t0) * 10);
      this.timer = setTimeout(check, next);
    };
    this.timer = setTimeout(check, this.q.how === 'filesystem' ? FILESYSTEM_CHECK_MS : MIN_WALK_CHECK_MS);
  }

  stop() {
    clearTimeout(this.timer);
  }

  /**
   * The limit the run ran into. Reaching it during the run counts however quick the program was
   * to finish (with writes refused, its results are incomplete); starting at it only counts when
   * the program then failed on a write refused for lack of space.
   */
  result(exitCode: number | null, stderr: string): WorkspaceLimit | undefined {
    if (this.limit) return this.limit;
    const now = workspaceAtLimit(this.q);
    if (now && (!this.fullBefore || (exitCode !== 0 && NO_SPACE.test(stderr)))) this.limit = now;
    return this.limit;
  }
}
