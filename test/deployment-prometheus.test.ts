// The dashboard and the alert rules against a real Prometheus (Debian's `prometheus`) scraping a
// real `brain serve` every second: on a fresh service no alert is pending or firing and only the
// panels listed below are empty; with traffic every panel has data and still no alert fires.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROOT, tempDir } from './helpers/brain.js';
import { requireTool } from './helpers/tools.js';
import { adminPost, daemonEnv, freePort, socketClient, startServe, waitFor, type RunningDaemon } from './helpers/daemon.js';

const DEPLOY = path.join(ROOT, 'deployment');

/**
 * Panels with no data on a fresh service, and why that is the right answer there:
 * a latency or duration quantile, and a success ratio, of calls or executions that never happened
 * is undefined, not 0; the cluster gauges exist per active cluster and there is none.
 */
const EMPTY_WHEN_FRESH = [
  'Request latency p50 / p95 / p99',
  'Execution success rate',
  'Execution wall time p50 / p95',
  'Cluster health',
  'Workers: live and max',
  'Backlog per worker',
  'Tasks by status',
  'Agents by state',
  'Pending messages',
];

/** What Grafana puts in place of its variables: one host, and a rate window of 5 scrapes. */
const RATE_INTERVAL = '5s';

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
interface Rule {
  alert: string;
  expr: string;
}

const dashboard = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana', 'brain-dashboard.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; query?: { query: string } }[] };
};
const rules = (yaml.load(fs.readFileSync(path.join(DEPLOY, 'prometheus', 'brain-alerts.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('dashboard and alerts in a real Prometheus', () => {
  let dir: string;
  let daemon: RunningDaemon;
  let prom: ChildProcess;
  let promUrl: string;
  let promLog = '';
  let instance: string;

  async function api<T>(p: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${promUrl}${p}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${p} ${JSON.stringify(params)}: ${body.error}`);
    return body.data;
  }

  async function query(expr: string, time?: number): Promise<Sample[]> {
    const data = await api<{ resultType: string; result: Sample[] }>('/api/v1/query', { query: expr, ...(time ? { time: String(time) } : {}) });
    return data.resultType === 'vector' ? data.result : [];
  }

  const substitute = (expr: string) => expr.replaceAll('$__rate_interval', RATE_INTERVAL).replaceAll('$job', 'brain').replaceAll('$instance', instance);

  /** Panels whose every query returns no sample or only NaN (what Grafana shows as "No data" or a gap) at `time`. */
  async function emptyPanels(time: number): Promise<string[]> {
    const empty: string[] = [];
    for (const p of dashboard.panels) {
      if (!p.targets?.length) continue;
      let data = false;
      for (const t of p.targets) {
        const r = await query(substitute(t.expr), time);
        if (r.some((s) => Number.isFinite(Number(s.value[1])))) data = true;
      }
      if (!data) empty.push(p.title);
    }
    return empty;
  }

  /** Each alert's expression at `time`: none may return a series on a healthy service. */
  async function alertsMatching(time: number): Promise<string[]> {
    const out: string[] = [];
    for (const r of rules) if ((await query(r.expr, time)).length) out.push(r.alert);
    return out;
  }

  /**
   * Waits until Prometheus has scraped brain `n` times after `since` (unix s) and run every rule
   * group after its n-th scrape; returns the time of the newest scrape.
   */
  async function settledAfter(since: number, n = 3): Promise<number> {
    let newest = 0;
    await waitFor(`${n} scrapes and rule evaluations after ${since}`, async () => {
      const window = Math.floor(Date.now() / 1000 - since);
      if (window < 1) return false;
      const scrapes = await query(`count_over_time(up{job="brain"}[${window}s])`);
      if (!(Number(scrapes[0]?.value[1]) >= n)) return false;
      newest = Number((await query('timestamp(up{job="brain"})'))[0].value[1]);
      const groups = await api<{ groups: { lastEvaluation: string }[] }>('/api/v1/rules');
      return groups.groups.length > 0 && groups.groups.every((g) => Date.parse(g.lastEvaluation) / 1000 > newest);
    }, 30_000);
    return newest;
  }

  beforeAll(async () => {
    // A missing prometheus fails here with the sentence naming the package (never a silent skip).
    const PROMETHEUS = requireTool('prometheus', 'prometheus');
    dir = tempDir('brain-prom-');
    daemon = await startServe(await daemonEnv(dir));
    instance = `127.0.0.1:${daemon.metricsPort}`;
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [path.join(DEPLOY, 'prometheus', 'brain-alerts.yml')],
      scrape_configs: [{ job_name: 'brain', metrics_path: '/metrics', static_configs: [{ targets: [instance] }] }],
    };
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), yaml.dump(config));
    prom = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    prom.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    await waitFor('Prometheus to be ready', () => fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false), 20_000);
  }, 60_000);

  afterAll(async () => {
    prom?.kill('SIGTERM');
    await daemon?.stop();
    if (prom && prom.exitCode === null) await new Promise((r) => prom.once('exit', r));
  });

  it('the dashboard variables find this host by job and instance', async () => {
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v.query?.query]));
    expect(vars.job).toBe('label_values(brain_build_info, job)');
    expect(vars.instance).toBe('label_values(brain_build_info{job="$job"}, instance)');
    await waitFor('the first scrape', async () => (await query('brain_build_info')).length > 0, 20_000);
    expect(await api<string[]>('/api/v1/label/job/values', { 'match[]': 'brain_build_info' })).toEqual(['brain']);
    expect(await api<string[]>('/api/v1/label/instance/values', { 'match[]': 'brain_build_info{job="brain"}' })).toEqual([instance]);
    // Every query is for the chosen host only: no panel adds several hosts together.
    for (const p of dashboard.panels) for (const t of p.targets ?? []) expect(t.expr, p.title).toContain('job="$job", instance="$instance"');
  }, 30_000);

  it('fresh service: only the panels listed as empty have no data, and no alert is pending or firing', async () => {
    const at = await settledAfter(Date.now() / 1000);
    expect(await emptyPanels(at)).toEqual(EMPTY_WHEN_FRESH);
    expect(await alertsMatching(at)).toEqual([]);
    // A fresh service takes its first backup at start-up (none is on disk): a recovery point from
    // the first minute, and the backup alerts are quiet.
    await waitFor('the start-up backup', async () => Number((await query(substitute('brain_backup_last_success_timestamp_seconds{instance="$instance"}')))[0]?.value[1] ?? 0) > 0, 20_000);
    expect(await alertsMatching(Date.now() / 1000)).toEqual([]);
    expect(await query('ALERTS')).toEqual([]);
  }, 60_000);

  it('with traffic: every panel has data and no alert is pending or firing', async () => {
    const c = await socketClient(daemon.socket);
    // Things that happen once: a backup, a rebalance, a cluster, a note edited outside brain and a
    // refused HTTP request (a wrong admin token: what a failed login looks like).
    expect((await adminPost(daemon, 'backup')).status).toBe(200);
    expect((await adminPost(daemon, 'rebalance-memory')).status).toBe(200);
    expect((await adminPost(daemon, 'backup', 'not-the-admin-token-at-all')).status).toBe(401);
    await call(c, 'blueprint', { action: 'save', yaml: fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8') });
    await call(c, 'cluster', { action: 'create', blueprint: 'software-team', id: 'web' });
    await call(c, 'cluster', { action: 'autoscale', id: 'web', apply: true });
    fs.mkdirSync(path.join(dir, 'notes'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notes', 'from-an-editor.md'), '# Written outside brain\n');
    // Steady calls for a few scrapes, so each rate window holds some.
    const until = Date.now() + 6000;
    let n = 0;
    while (Date.now() < until) {
      await call(c, 'remember', { content: `traffic ${n++}` });
      await call(c, 'recall', { query: 'traffic' });
      const run = await call<{ status: string }>(c, 'execute', { code: 'print(6 * 7)' });
      expect(run.status).toBe('succeeded');
    }
    const at = Date.now() / 1000;
    await c.close();
    await settledAfter(at);
    expect(await emptyPanels(at)).toEqual([]);
    expect(await alertsMatching(at)).toEqual([]);
    expect(await query('ALERTS')).toEqual([]);
    expect(promLog).not.toMatch(/level=error/);
  }, 90_000);
});
