// The operations side port of brain serve: /metrics through Prometheus' own parser with every
// contract metric moving, /health following the database, admin actions (token, fixed names), the
// Host check against DNS rebinding, and the embedded mode's optional metrics with a port taken.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, startBrain, tempDir, type Connected } from './helpers/brain.js';
import { ADMIN_TOKEN, adminPost, daemonEnv, freePort, socketClient, startServe, waitFor, type RunningDaemon } from './helpers/daemon.js';
import { requireTool } from './helpers/tools.js';

let dir: string;
let env: Record<string, string>;
let daemon: RunningDaemon | undefined;
let embedded: Connected | undefined;

beforeEach(async () => {
  dir = tempDir('brain-ops-');
  env = await daemonEnv(dir);
});
afterEach(async () => {
  await embedded?.close();
  embedded = undefined;
  await daemon?.stop();
  daemon = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Parses the text exposition format into "name{labels}" -> value (enough for assertions). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function promtool(text: string) {
  return spawnSync(requireTool('promtool', 'prometheus'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
}

/** The operations guide's metric names: dashboards and alerts are written against them. */
const CONTRACT = [
  'brain_mcp_request_duration_seconds',
  'brain_memory_operations_total',
  'brain_execution_queue_size',
  'brain_database_size_bytes',
  'brain_active_sessions',
  'brain_worker_status',
];

describe('metrics side port', () => {
  it('/metrics passes promtool check metrics; contract and operator metrics present and moving', async () => {
    requireTool('promtool', 'prometheus');
    daemon = await startServe(env);
    const scrape = async () => (await fetch(daemon!.url('/metrics'))).text();
    const c = await socketClient(daemon.socket);
    await call(c, 'remember', { key: 'warmup', content: 'first write so every series exists' });
    const before = samples(await scrape());

    for (let i = 0; i < 30; i++) await call(c, 'remember', { key: `k${i}`, content: `metrics traffic ${i} `.repeat(40), importance: 0.9 });
    for (let i = 0; i < 10; i++) await call(c, 'recall', { query: `metrics traffic ${i}` });
    await c.callTool({ name: 'recall', arguments: { key: 'no-such-key' } });
    const run = await call<{ status: string }>(c, 'execute', { code: 'print(sum(range(10)))' });
    expect(run.status).toBe('succeeded');
    const second = await socketClient(daemon.socket);
    const backup = await adminPost(daemon, 'backup');
    expect(backup.status).toBe(200);
    expect(await backup.json()).toMatchObject({ ok: true });
    expect((await adminPost(daemon, 'rebalance-memory')).status).toBe(200);

    const text = await scrape();
    const check = promtool(text);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const after = samples(text);
    for (const name of CONTRACT) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));

    const get = (m: Map<string, number>, key: string) => m.get(key) ?? 0;
    const okRemember = 'brain_mcp_request_duration_seconds_count{tool="remember",status="ok"}';
    expect(get(after, okRemember) - get(before, okRemember)).toBe(30);
    expect(get(after, 'brain_mcp_request_duration_seconds_count{tool="recall",status="ok"}')).toBe(10);
    expect(get(after, 'brain_mcp_request_duration_seconds_count{tool="recall",status="user_error"}')).toBe(1);
    expect(get(after, 'brain_mcp_tool_errors_total{tool="recall",kind="user"}')).toBe(1);
    const creates = [...after].filter(([k]) => k.startsWith('brain_memory_operations_total{operation="create"')).reduce((a, [, v]) => a + v, 0);
    expect(creates).toBe(31);
    expect([...after].some(([k, v]) => k.startsWith('brain_memory_operations_total{operation="recall"') && v > 0)).toBe(true);
    expect(get(after, 'brain_database_size_bytes')).toBeGreaterThan(get(before, 'brain_database_size_bytes'));
    expect(get(before, 'brain_active_sessions')).toBe(1);
    expect(get(after, 'brain_active_sessions')).toBe(2);
    // All 31 fit the hot tier once rebalanced (done on request above, so the scheduled first
    // rebalance 3 s after start, which a loaded machine may reach before this point, changes nothing).
    expect(get(after, 'brain_memory_tier_items{tier="hot"}')).toBe(31);
    expect(get(after, 'brain_memory_hot_tier_utilisation_ratio')).toBeCloseTo(31 / 2000);
    expect(get(after, 'brain_backup_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 120);
    // The one taken at start-up (none was on disk) and the one asked for.
    expect(get(after, 'brain_maintenance_runs_total{task="backup",status="ok"}')).toBe(2);
    expect(get(after, 'brain_health_status{check="database"}')).toBe(1);
    expect(get(after, 'brain_events_total{type="brain.start",severity="info"}')).toBe(1);
    expect([...after.keys()].some((k) => k.startsWith('brain_build_info{'))).toBe(true);
    expect(get(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // Node's default metrics keep their standard names; brain's own are all brain_*.
    expect([...after.keys()].some((k) => k.startsWith('brain_process_') || k.startsWith('brain_nodejs_'))).toBe(false);
    expect(get(after, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(get(after, 'brain_executions_total{status="succeeded"}') - get(before, 'brain_executions_total{status="succeeded"}')).toBe(1);
    expect(get(after, 'brain_mcp_request_duration_seconds_count{tool="execute",status="ok"}')).toBe(1);
    expect(get(after, 'brain_execution_queue_size')).toBe(0);
    const workers = [...after].filter(([k]) => k.startsWith('brain_worker_status{'));
    expect(workers.length).toBeGreaterThan(0);
    expect(workers.every(([, v]) => v === 1)).toBe(true);

    await second.close();
    await waitFor('session count to drop', async () => samples(await scrape()).get('brain_active_sessions') === 1);
    await c.close();
  }, 90_000);

  it('/health goes 503 while the database file is gone and back to 200 when it returns', async () => {
    daemon = await startServe({ ...env, BRAIN_HEALTH_CHECK_INTERVAL_MS: '1000' });
    const c = await socketClient(daemon.socket);
    const healthEvents = async () =>
      (await call<{ events: { severity: string; message: string }[] }>(c, 'events', { type: ['health.database'] })).events;
    const health = async () => {
      const r = await fetch(daemon!.url('/health'));
      return { code: r.status, body: (await r.json()) as { status: string; checks: Record<string, { status: string; detail: string }> } };
    };
    const ok = await health();
    expect(ok.code).toBe(200);
    expect(ok.body.status).toBe('healthy');
    expect(Object.keys(ok.body.checks).sort()).toEqual(['database', 'disk', 'memory', 'workers']);

    // Someone moves the database away (a botched restore, a cleanup script): the open handle still
    // answers, but the file every other process and the next restart would open is gone.
    const db = env.BRAIN_DB_PATH;
    fs.renameSync(db, db + '.moved');
    const down = await health();
    expect(down.code).toBe(503);
    expect(down.body.status).toBe('unhealthy');
    expect(down.body.checks.database.status).toBe('fail');
    expect(down.body.checks.database.detail).toMatch(/not available.*ENOENT/);
    expect((await fetch(daemon.url('/health/ready'))).status).toBe(503);
    expect((await fetch(daemon.url('/health/live'))).status).toBe(200);
    const metrics = await (await fetch(daemon.url('/metrics'))).text();
    expect(metrics).toMatch(/^brain_health_status\{check="database"\} 0$/m);
    // The periodic check notices on its own and says so once, as an error event.
    await waitFor('a health.database error event', async () => (await healthEvents()).length === 1);
    expect((await healthEvents())[0]).toMatchObject({ severity: 'error', message: expect.stringMatching(/health check database is fail/) });

    fs.renameSync(db + '.moved', db);
    const back = await health();
    expect(back.code).toBe(200);
    expect(back.body.checks.database.status).toBe('ok');
    expect((await fetch(daemon.url('/health/ready'))).status).toBe(200);
    await waitFor('the recovery event', async () => (await healthEvents()).length === 2);
    expect((await healthEvents())[0]).toMatchObject({ severity: 'info', message: expect.stringMatching(/health check database recovered/) });
    await c.close();

    // A different file put in its place is not the database brain has open: still unhealthy.
    fs.renameSync(db, db + '.old');
    fs.copyFileSync(db + '.old', db);
    const replaced = await health();
    expect(replaced.code).toBe(503);
    expect(replaced.body.checks.database.detail).toMatch(/replaced while brain had it open/);
    fs.renameSync(db + '.old', db);
    expect((await health()).code).toBe(200);
  }, 60_000);

  it('POST /admin/rebalance-memory rebalances and records an event; browser requests are refused', async () => {
    // No scheduled rebalance: the one 3 s after start could promote the memory before the admin
    // action does (a slow start puts the remember near that moment).
    daemon = await startServe({ ...env, BRAIN_REBALANCE_INTERVAL_MIN: '0' });
    const c = await socketClient(daemon.socket);
    await call(c, 'remember', { key: 'a', content: 'one warm memory' });
    const r = await adminPost(daemon, 'rebalance-memory');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ promoted: 1, demoted: 0, hot_items: 1 });
    const refused = await fetch(daemon.url('/admin/rebalance-memory'), { method: 'POST', headers: { origin: 'http://evil.example', authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(refused.status).toBe(403);
    expect((await adminPost(daemon, 'nothing')).status).toBe(404);
    const ev = await call<{ events: { type: string }[] }>(c, 'events', { type: ['memory.rebalance'] });
    expect(ev.events).toHaveLength(1);
    await c.close();
  }, 60_000);

  it('answers only requests addressed to it (DNS rebinding); /admin needs the token and knows only its actions', async () => {
    daemon = await startServe(env);
    const port = daemon.metricsPort;
    /** A request with full control of Host (fetch does not let a caller set it). */
    const raw = (method: string, p: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: p, method, headers }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    // A page at evil.example rebound to 127.0.0.1 sends its own name as Host: nothing for it, not
    // even the database path or the free disk.
    for (const p of ['/health', '/metrics', '/health/live']) {
      const r = await raw('GET', p, { host: `evil.example:${port}` });
      expect(r.status, p).toBe(403);
      expect(r.body).not.toContain(env.BRAIN_DB_PATH);
    }
    // Loopback names and IP addresses (what Prometheus and probes use) are answered without a token.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `10.1.2.3:${port}`]) {
      expect((await raw('GET', '/health', { host })).status, host).toBe(200);
      expect((await raw('GET', '/health/ready', { host })).status, host).toBe(200);
    }
    expect((await raw('GET', '/health/live', { host: `localhost:${port}` })).body).toBe('OK\n');

    // Admin: no token, a wrong one, then the right one.
    const noToken = await fetch(daemon.url('/admin/backup'), { method: 'POST' });
    expect(noToken.status).toBe(401);
    expect(((await noToken.json()) as { error: string }).error).toMatch(/missing or wrong bearer token/);
    expect((await adminPost(daemon, 'backup', 'not-the-admin-token-0123456789')).status).toBe(401);
    expect((await adminPost(daemon, 'rebalance-memory')).status).toBe(200);
    // Names that every object has are not actions.
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const r = await adminPost(daemon, name);
      expect(r.status, name).toBe(404);
      const body = (await r.json()) as { error: string; actions: string[] };
      expect(body).toEqual({ error: `no admin action /admin/${name}`, actions: ['POST /admin/backup', 'POST /admin/memory-stats', 'POST /admin/rebalance-memory'] });
    }
    const text = await (await fetch(daemon.url('/metrics'))).text();
    expect(samples(text).get('brain_http_refused_total{port="ops",reason="host"}')).toBe(3);
    expect(samples(text).get('brain_http_refused_total{port="ops",reason="token"}')).toBe(2);
    expect(daemon.stderr()).toMatch(/HTTP request refused \(host\) .*"port":"ops","status":403,"method":"GET","path":"\/health"/);
    expect(daemon.stderr()).not.toContain('not-the-admin-token-0123456789');
  }, 60_000);

  it('with no token configured, admin actions are off and say how to turn them on', async () => {
    daemon = await startServe({ ...env, BRAIN_HTTP_TOKEN: '' });
    const r = await fetch(daemon.url('/admin/backup'), { method: 'POST', headers: { authorization: 'Bearer anything-at-all-0123456789' } });
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ error: 'admin endpoints are off: set BRAIN_HTTP_TOKEN or BRAIN_HTTP_TOKEN_FILE, then send Authorization: Bearer <token>' });
    expect((await fetch(daemon.url('/metrics'))).status).toBe(200);
  }, 60_000);

  it('embedded stdio: metrics when BRAIN_METRICS_PORT is set; a port in use is a warning, not a crash', async () => {
    requireTool('promtool', 'prometheus');
    const port = await freePort();
    embedded = await startBrain({ ...env, BRAIN_METRICS_PORT: String(port) });
    await call(embedded.client, 'remember', { content: 'embedded with metrics' });
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^brain_active_sessions 1$/m);
    expect(promtool(text).status).toBe(0);
    await embedded.close();

    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    try {
      embedded = await startBrain({ ...env, BRAIN_METRICS_PORT: String(port) });
      const r = await call(embedded.client, 'remember', { content: 'still works without its metrics port' });
      expect(r.created).toBe(true);
      await waitFor('the warning on stderr', () => /metrics side port 127\.0\.0\.1:\d+ not started: the port is already in use/.test(embedded!.stderr()));
    } finally {
      squatter.close();
    }
  }, 60_000);
});
