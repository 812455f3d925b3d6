// deployment/ is real: the systemd unit passes systemd-analyze verify, the alert rules and scrape
// config pass promtool, and every Grafana query names only metrics a live brain serve exports.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROOT, tempDir } from './helpers/brain.js';
import { adminPost, daemonEnv, socketClient, startServe, type RunningDaemon } from './helpers/daemon.js';
import { requireTool } from './helpers/tools.js';

const DEPLOY = path.join(ROOT, 'deployment');

describe('deployment files', () => {
  it('systemd unit: systemd-analyze verify accepts it with no warnings, hardened but without MemoryDenyWriteExecute', () => {
    requireTool('systemd-analyze', 'systemd');
    let unit = fs.readFileSync(path.join(DEPLOY, 'brain.service'), 'utf8');
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=(yes|true)/m);
    expect(unit).toMatch(/^ExecStart=\/opt\/brain\/node\/bin\/node \/opt\/brain\/dist\/src\/cli\.js serve$/m);
    for (const line of ['ProtectSystem=strict', 'ProtectHome=true', 'PrivateTmp=true', 'RuntimeDirectory=brain', 'Group=brain', 'UMask=0077']) expect(unit).toContain(line);
    // verify insists that the ExecStart binary exists: /opt/brain/node is what install.sh --service makes.
    unit = unit.replace('/opt/brain/node/bin/node', process.execPath);
    const dir = tempDir('brain-unit-');
    try {
      const file = path.join(dir, 'brain.service');
      fs.writeFileSync(file, unit);
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // Unknown keys and typos are only warnings to systemd; here they fail.
      expect(r.stderr.split('\n').filter((l) => l.includes('brain.service'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('systemd unit: systemd-analyze security rates it 4.0 or lower (README quotes the number)', () => {
    requireTool('systemd-analyze', 'systemd');
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', path.join(DEPLOY, 'brain.service')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const score = Number(/Overall exposure level for brain\.service: ([\d.]+)/.exec(r.stdout)?.[1]);
    expect(score).toBeLessThanOrEqual(4.0);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`rates it ${score.toFixed(1)}`);
    // The settings that hold the sandbox's own guarantees in place stay on, and so do those that
    // took firejail changes to allow (scripts/check-service-sandbox.sh runs the attack suites
    // under all of them: test/service-sandbox.slow.test.ts).
    const unit = fs.readFileSync(path.join(DEPLOY, 'brain.service'), 'utf8');
    for (const line of [
      'SystemCallFilter=@system-service @mount @privileged',
      'IPAddressDeny=any',
      'RestrictNamespaces=mnt pid net user uts',
      'ProtectKernelTunables=true',
      'NoNewPrivileges=true',
      'RestrictSUIDSGID=true',
      'ProtectHostname=true',
      'ProtectControlGroups=true',
      'Delegate=yes',
      // Sandbox cgroups go in the unit's own delegated cgroup, the one part of the tree left writable.
      'ReadWritePaths=-/sys/fs/cgroup/system.slice/brain.service',
      // /run/firejail is made before the mounts are set up: on a fresh boot it does not exist.
      'ExecStartPre=+/bin/mkdir -p -m 0755 /run/firejail',
    ]) {
      expect(unit).toContain(line);
    }
    expect(unit).not.toMatch(/CAP_SYS_CHROOT/);
  });

  // promtool's rule tests take 7.5 s of CPU (29 s of wall time seen on a loaded machine).
  it('Prometheus: promtool accepts the alert rules and the scrape config, and the rules pass their unit tests', { timeout: 180_000 }, () => {
    requireTool('promtool', 'prometheus');
    const rules = spawnSync('promtool', ['check', 'rules', path.join(DEPLOY, 'prometheus', 'brain-alerts.yml')], { encoding: 'utf8' });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const config = spawnSync('promtool', ['check', 'config', path.join(DEPLOY, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    expect(config.status, config.stdout + config.stderr).toBe(0);
    // The rules fire when they should and not otherwise (stale backup, failing health check).
    const unit = spawnSync('promtool', ['test', 'rules', 'brain-alerts.test.yml'], { cwd: path.join(DEPLOY, 'prometheus'), encoding: 'utf8' });
    expect(unit.status, unit.stdout + unit.stderr).toBe(0);
  });

  it('environment example: every variable is one brain reads', async () => {
    const { configVariableNames } = await import('../src/core/config.js');
    const known = new Set(configVariableNames());
    const text = fs.readFileSync(path.join(DEPLOY, 'brain.env.example'), 'utf8');
    const names = [...text.matchAll(/^#?\s*(BRAIN_[A-Z_]+)=/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(known.has(n), n).toBe(true);
  });
});

describe('Grafana dashboard against a live /metrics', () => {
  let dir: string;
  let daemon: RunningDaemon;
  beforeAll(async () => {
    dir = tempDir('brain-grafana-');
    daemon = await startServe(await daemonEnv(dir));
  });
  afterAll(async () => {
    await daemon?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // PromQL words that are not metric names.
  const PROMQL = new Set(
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ignoring group_left group_right and or unless bool offset rate irate increase delta idelta deriv histogram_quantile time vector scalar abs ceil floor round clamp clamp_min clamp_max label_replace label_join sort sort_desc predict_linear avg_over_time max_over_time min_over_time sum_over_time absent changes resets inf nan'.split(' '),
  );

  function metricNames(expr: string): string[] {
    const bare = expr
      .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
      .replace(/\{[^}]*\}/g, '') // label matchers
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
      .replace(/\[[^\]]*\]/g, ''); // range selectors
    return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL.has(w));
  }

  it('every panel query names only metrics that brain exports', { timeout: 90_000 }, async () => {
    const c = await socketClient(daemon.socket);
    await call(c, 'remember', { content: 'traffic so every labelled series exists' });
    await c.callTool({ name: 'recall', arguments: { key: 'absent' } });
    const run = await call<{ status: string }>(c, 'execute', { code: 'print(6 * 7)' });
    expect(run.status).toBe('succeeded');
    expect((await adminPost(daemon, 'backup')).status).toBe(200);
    expect((await adminPost(daemon, 'rebalance-memory')).status).toBe(200);
    // An active cluster measured once (the scheduler does it every BRAIN_CLUSTER_SCALE_INTERVAL_SEC).
    await call(c, 'blueprint', { action: 'save', yaml: fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8') });
    await call(c, 'cluster', { action: 'create', blueprint: 'software-team', id: 'web' });
    await call(c, 'cluster', { action: 'autoscale', id: 'web', apply: true });
    const exposition = await (await fetch(daemon.url('/metrics'))).text();
    // Declared metrics (# TYPE), so a labelled counter that has not counted yet still counts as exported.
    const exported = new Set([...exposition.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/gm)].map((m) => m[1]));
    for (const [, name, type] of exposition.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
      exported.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name + suffix);
    }
    await c.close();

    // Row panels (section headings) have no queries.
    const dash = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana', 'brain-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(15);
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${panel}: ${expr} names no metric`).toBeGreaterThan(0);
      for (const name of names) expect(exported.has(name), `${panel}: ${name} is not in /metrics`).toBe(true);
    }
    // The contract metrics are all on the dashboard.
    const all = exprs.map((e) => e.expr).join('\n');
    for (const name of ['brain_mcp_request_duration_seconds', 'brain_memory_operations_total', 'brain_execution_queue_size', 'brain_database_size_bytes', 'brain_active_sessions', 'brain_worker_status']) {
      expect(all).toContain(name);
    }
  });
});
