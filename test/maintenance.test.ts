// One maintenance for every mode: embedded `brain` (createApp as the stdio path builds it) and
// `brain serve` (startDaemon) register the same tasks, leave off their timers only what their mode
// says, and both expire old events and slow-query rows on their own at start-up, each run counted
// in metrics and notable ones recorded as events.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, UNSCHEDULED, type App } from '../src/app.js';
import type { Config } from '../src/core/config.js';
import { openDatabase, toDbTime } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics } from '../src/core/metrics.js';
import { startDaemon, type Daemon } from '../src/daemon/serve.js';
import { insertEvent } from '../src/events/store.js';
import { tempDir, testConfig } from './helpers/brain.js';
import { waitFor } from './helpers/daemon.js';

const DAY = 86_400_000;
let dir: string;
let config: Config;
let embedded: App | undefined;
let daemon: Daemon | undefined;

beforeEach(() => {
  dir = tempDir('brain-maintenance-');
  config = testConfig(dir, { BRAIN_SOCKET_PATH: path.join(dir, 'brain.sock'), BRAIN_METRICS_PORT: '0', BRAIN_RETENTION_DAYS: '30' });
});
afterEach(async () => {
  embedded?.close();
  embedded = undefined;
  await daemon?.stop('test over');
  daemon = undefined;
});

async function startEmbedded(): Promise<App> {
  // What runStdio in src/cli.ts builds.
  embedded = createApp(config, { logger: silentLogger(), metrics: createMetrics(), mode: 'embedded' });
  return embedded;
}

async function startServe(): Promise<App> {
  daemon = await startDaemon(config, { logger: silentLogger(), metrics: createMetrics() });
  return daemon.app;
}

/** A database file with a year-old and a day-old event and slow-query row, written before brain starts. */
function seedOldRows() {
  const db = openDatabase(config.dbPath);
  try {
    for (const [age, what] of [[365, 'old'], [1, 'recent']] as const) {
      insertEvent(db, { type: `seed.${what}`, severity: 'info', message: `${what} event` }, Date.now() - age * DAY);
      db.prepare('INSERT INTO query_log (sql, elapsed_ms, created_at) VALUES (?, ?, ?)').run(`${what} query`, 500, toDbTime(Date.now() - age * DAY));
    }
  } finally {
    db.close();
  }
}

describe('maintenance in every mode', () => {
  it('embedded and daemon register the same tasks; embedded leaves only backups and VACUUM off its timers', async () => {
    const a = await startEmbedded();
    const names = a.maintenance.tasks.map((t) => t.name);
    const embeddedScheduled = [...a.maintenance.scheduled];
    a.close();
    embedded = undefined;
    const d = await startServe();

    expect(d.maintenance.tasks.map((t) => t.name)).toEqual(names);
    expect(names).toEqual(
      expect.arrayContaining(['rebalance', 'rebalance.startup', 'purge.memories', 'purge.sessions', 'purge.events', 'purge.executions', 'purge.query_log', 'notes.reconcile', 'checkpoint', 'optimize', 'backup']),
    );
    expect(d.maintenance.scheduled).toEqual(names);
    expect(embeddedScheduled).toEqual(names.filter((n) => !UNSCHEDULED.embedded.includes(n)));
    expect(UNSCHEDULED.embedded).toEqual(['backup', 'optimize']);
    // A one-shot command (brain stats, brain maintain) has the same tasks and runs none on its own.
    const oneshot = createApp(config);
    try {
      expect(oneshot.maintenance.tasks.map((t) => t.name)).toEqual(names);
      expect(oneshot.maintenance.scheduled).toEqual([]);
    } finally {
      oneshot.close();
    }
  });

  for (const [mode, start] of [
    ['embedded', startEmbedded],
    ['daemon', startServe],
  ] as const) {
    it(`${mode}: old events and query_log rows are purged at start-up, counted and recorded`, async () => {
      seedOldRows();
      const app = await start();
      const left = () => ({
        events: app.db.prepare(`SELECT event_type FROM events WHERE event_type LIKE 'seed.%'`).pluck().all(),
        queries: app.db.prepare(`SELECT sql FROM query_log WHERE sql LIKE '% query'`).pluck().all(),
      });
      const runs = async (task: string) => (await app.metrics.registry.getSingleMetric('brain_maintenance_runs_total')!.get()).values.find((v) => v.labels.task === task && v.labels.status === 'ok')?.value ?? 0;
      await waitFor('the start-up purge', async () => (await runs('purge.events')) === 1 && (await runs('purge.query_log')) === 1, 10_000);

      expect(left()).toEqual({ events: ['seed.recent'], queries: ['recent query'] });
      const recorded = app.events.list({ types: ['maintenance.purge.events', 'maintenance.purge.query_log'] }, 10).rows;
      expect(recorded.map((e) => [e.event_type, e.message]).sort()).toEqual([
        ['maintenance.purge.events', 'expired events removed: {"events":1}'],
        ['maintenance.purge.query_log', 'expired slow-query log rows removed: {"query_log":1}'],
      ]);
      // The same tasks, run again on demand, find nothing more.
      expect(await app.maintenance.runNow('purge.events')).toBe(true);
      expect(await app.maintenance.runNow('purge.query_log')).toBe(true);
      expect(left()).toEqual({ events: ['seed.recent'], queries: ['recent query'] });
      expect(await runs('purge.events')).toBe(2);
    }, 30_000);
  }
});
