// Which backups to keep: the newest few whatever their age, then one per hour, per day and per week
// (the newest of each, in UTC), and nothing older than a maximum age. At the defaults (a backup
// every 15 minutes; 4, 24, 7, 4 and 35 days) a directory holds at most 39 backups while the newest
// recovery point is never more than 15 minutes old. Pure: the caller lists and removes files.

export interface RetentionPolicy {
  /** The newest this many are kept whatever their age (the newest one always is). */
  keep: number;
  /** The newest backup of each of the last N hours. */
  hourly: number;
  /** The newest backup of each of the last N days. */
  daily: number;
  /** The newest backup of each of the last N weeks (weeks start on Monday, UTC). */
  weekly: number;
  /** Older than this (ms) is removed whatever the rules above say, except the newest backup; 0 = no limit. */
  maxAgeMs: number;
}

/** Keep the newest `n`, no thinning: what `keep` alone used to mean. */
export function keepNewest(n: number): RetentionPolicy {
  return { keep: n, hourly: 0, daily: 0, weekly: 0, maxAgeMs: 0 };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 1970-01-01 was a Thursday: shifting by 3 days puts week boundaries on Mondays. */
const MONDAY_SHIFT = 3 * DAY;

export interface Dated {
  file: string;
  /** When the backup was taken (ms). */
  timeMs: number;
}

/**
 * The backups `policy` removes, given every backup of one directory. A bucket (hour, day, week)
 * counts when it lies within the last N of its kind before `nowMs`; its newest backup is kept.
 */
export function toRemove<T extends Dated>(backups: readonly T[], policy: RetentionPolicy, nowMs: number): T[] {
  const newestFirst = [...backups].sort((a, b) => b.timeMs - a.timeMs);
  const kept = new Set<T>(newestFirst.slice(0, Math.max(1, policy.keep)));
  const thin = (n: number, bucketOf: (t: number) => number) => {
    if (n <= 0) return;
    const oldest = bucketOf(nowMs) - n + 1;
    const seen = new Set<number>();
    for (const b of newestFirst) {
      const bucket = bucketOf(b.timeMs);
      if (bucket < oldest || seen.has(bucket)) continue;
      seen.add(bucket);
      kept.add(b);
    }
  };
  thin(policy.hourly, (t) => Math.floor(t / HOUR));
  thin(policy.daily, (t) => Math.floor(t / DAY));
  thin(policy.weekly, (t) => Math.floor((t + MONDAY_SHIFT) / (7 * DAY)));
  return newestFirst.filter((b, i) => {
    if (i === 0) return false;
    if (policy.maxAgeMs > 0 && nowMs - b.timeMs > policy.maxAgeMs) return true;
    return !kept.has(b);
  });
}
