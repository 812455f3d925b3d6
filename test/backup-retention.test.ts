// Retention: the newest few, one per hour, day and week, nothing past the maximum age; applied to a
// schedule of a backup every 15 minutes for 60 days, as the daemon's defaults run it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { applyRetention, backupTimeMs, listBackups } from '../src/ops/backup.js';
import { keepNewest, toRemove, type Dated, type RetentionPolicy } from '../src/ops/retention.js';
import { brainEnv, tempDir } from './helpers/brain.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const defaults = loadConfig(brainEnv(tempDir('brain-retention-env-')));

describe('retention', () => {
  it('the defaults: a backup every 15 minutes, thinned hourly, daily and weekly, none older than 35 days', () => {
    expect(defaults.backupIntervalMs).toBe(15 * 60_000);
    expect(defaults.backupRetention).toEqual({ keep: 4, hourly: 24, daily: 7, weekly: 4, maxAgeMs: 35 * DAY });
    const start = Date.parse('2026-01-01T00:07:00Z');
    let kept: Dated[] = [];
    let most = 0;
    let now = start;
    for (; now < start + 60 * DAY; now += 15 * 60_000) {
      kept.push({ file: String(now), timeMs: now });
      const gone = new Set(toRemove(kept, defaults.backupRetention, now));
      kept = kept.filter((b) => !gone.has(b));
      most = Math.max(most, kept.length);
    }
    now -= 15 * 60_000;
    const times = kept.map((b) => b.timeMs).sort((a, b) => b - a);
    // The newest recovery point is the backup just made; the four newest are 15 minutes apart.
    expect(times.slice(0, 4)).toEqual([0, 1, 2, 3].map((i) => now - i * 15 * 60_000));
    // One in each of the last 24 hours, each of the last 7 days, and each of the last 4 weeks.
    for (let h = 0; h < 24; h++) expect(times.some((t) => Math.floor(t / HOUR) === Math.floor(now / HOUR) - h), `hour -${h}`).toBe(true);
    for (let d = 0; d < 7; d++) expect(times.some((t) => Math.floor(t / DAY) === Math.floor(now / DAY) - d), `day -${d}`).toBe(true);
    expect(times.filter((t) => now - t > 7 * DAY).length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...times)).toBeGreaterThan(now - 35 * DAY);
    // The directory never holds more than keep + hourly + daily + weekly.
    expect(most).toBeLessThanOrEqual(4 + 24 + 7 + 4);
    expect(kept.length).toBeLessThanOrEqual(39);
  });

  it('age wins over the keep rules, except for the newest backup, which is never removed', () => {
    const now = Date.parse('2026-06-01T12:00:00Z');
    const old = [40, 50, 60].map((d) => ({ file: `d${d}`, timeMs: now - d * DAY }));
    const policy: RetentionPolicy = { keep: 10, hourly: 0, daily: 0, weekly: 0, maxAgeMs: 30 * DAY };
    expect(toRemove(old, policy, now).map((b) => b.file)).toEqual(['d50', 'd60']);
    expect(toRemove([...old, { file: 'fresh', timeMs: now }], policy, now).map((b) => b.file)).toEqual(['d40', 'd50', 'd60']);
    expect(toRemove(old, keepNewest(2), now).map((b) => b.file)).toEqual(['d60']);
  });

  it('on disk: gzipped and older uncompressed backups alike, each with its notes archive; other files are left alone', () => {
    const dir = tempDir('brain-retention-');
    const now = Date.parse('2026-06-01T12:00:00Z');
    const names = ['brain_20260601_115500.db.gz', 'brain_20260601_114500.db.gz', 'brain_20260601_100000.db', 'brain_20260301_100000.db.gz'];
    for (const n of names) {
      fs.writeFileSync(path.join(dir, n), 'x');
      fs.writeFileSync(path.join(dir, n.replace(/\.db(\.gz)?$/, '.notes.tar.gz')), 'x');
    }
    fs.writeFileSync(path.join(dir, 'brain.db'), 'not a backup');
    expect(backupTimeMs(names[0])).toBe(Date.parse('2026-06-01T11:55:00Z'));
    const removed = applyRetention(dir, { keep: 1, hourly: 3, daily: 0, weekly: 0, maxAgeMs: 35 * DAY }, now);
    expect(removed.map((f) => path.basename(f)).sort()).toEqual(['brain_20260301_100000.db.gz', 'brain_20260301_100000.notes.tar.gz', 'brain_20260601_114500.db.gz', 'brain_20260601_114500.notes.tar.gz']);
    expect(listBackups(dir).map((b) => path.basename(b.file))).toEqual(['brain_20260601_115500.db.gz', 'brain_20260601_100000.db']);
    expect(fs.existsSync(path.join(dir, 'brain.db'))).toBe(true);
  });

  it('BRAIN_BACKUP_INTERVAL_HOURS, the older name, still sets the interval; BRAIN_BACKUP_INTERVAL_MIN wins over it', () => {
    const env = brainEnv(tempDir('brain-retention-env-'));
    expect(loadConfig({ ...env, BRAIN_BACKUP_INTERVAL_HOURS: '6' }).backupIntervalMs).toBe(6 * HOUR);
    expect(loadConfig({ ...env, BRAIN_BACKUP_INTERVAL_HOURS: '6', BRAIN_BACKUP_INTERVAL_MIN: '5' }).backupIntervalMs).toBe(5 * 60_000);
    expect(loadConfig({ ...env, BRAIN_BACKUP_INTERVAL_MIN: '0' }).backupIntervalMs).toBe(0);
    expect(() => loadConfig({ ...env, BRAIN_BACKUP_KEEP_DAILY: '-1' })).toThrow(/BRAIN_BACKUP_KEEP_DAILY="-1"/);
  });
});
