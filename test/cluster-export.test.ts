// Export as Claude Code subagents on a temp database: the files parse, name the tools the agent's
// capabilities need (only tools the server lists), tell the agent how to work through brain, and
// are written atomically, only inside the directory named, never through a ".." path.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../src/core/db.js';
import { silentLogger } from '../src/core/logger.js';
import { createMetrics } from '../src/core/metrics.js';
import { createClusterService, type ClusterService } from '../src/clusters/service.js';
import { CAPABILITY_TOOLS, exportCluster } from '../src/clusters/export.js';
import { createApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/core/config.js';
import { brainEnv, ROOT, tempDir, testConfig } from './helpers/brain.js';

const example = (name: string) => fs.readFileSync(path.join(ROOT, 'blueprints', `${name}.yaml`), 'utf8');

/** Every brain tool a capability can name, as a full tools/list would have them. */
const ALL_TOOLS = [...new Set(Object.values(CAPABILITY_TOOLS).flat()), 'init'];

let db: Db;
let svc: ClusterService;
let dir: string;
let toolNames: string[];

beforeEach(() => {
  dir = tempDir();
  db = openDatabase(path.join(dir, 'brain.db'));
  toolNames = ALL_TOOLS;
  svc = createClusterService({
    db,
    logger: silentLogger(),
    metrics: createMetrics(),
    recordEvent: () => undefined,
    ensureProject: (name) => void db.prepare("INSERT OR IGNORE INTO projects (name, created_at, updated_at) VALUES (?, datetime('now'), datetime('now'))").run(name),
    retentionDays: 30,
    messageRetentionHours: 24,
    toolNames: () => toolNames,
  });
  svc.blueprints.save(example('software-team'));
  svc.blueprints.save(example('marketing-department'));
});
afterEach(() => db.close());

/** Front matter and body of a subagent file. */
function parse(file: string): { front: Record<string, string>; body: string } {
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(fs.readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${file} has no front matter`);
  return { front: yaml.load(m[1], { schema: yaml.CORE_SCHEMA }) as Record<string, string>, body: m[2] };
}

describe('cluster export', () => {
  it('writes one subagent per live agent, with the tools its capabilities need and how to work through brain', () => {
    svc.create({ blueprint: 'software-team', id: 'web' });
    const out = path.join(dir, '.claude', 'agents');
    const result = exportCluster(svc.ctx, { id: 'web', dir: out });
    expect(result).toEqual({ dir: out, files: ['web-lead.md', 'web-reviewer.md', 'web-tester.md', 'web-coder-1.md', 'web-coder-2.md'] });
    expect(fs.readdirSync(out).sort()).toEqual([...result.files].sort());

    const coder = parse(path.join(out, 'web-coder-1.md'));
    expect(coder.front.name).toBe('web-coder-1');
    expect(coder.front.name).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    expect(coder.front.description).toMatch(/^Coder 1 \(worker of team "Software team", brain cluster web\)\. Implements one task.*Skills: TypeScript, Node\.js, SQL, refactoring\. Use it to take tasks/);
    expect(coder.front.tools.split(', ')).toEqual([
      'mcp__brain__message',
      'mcp__brain__remember',
      'mcp__brain__recall',
      'mcp__brain__search',
      'mcp__brain__note',
      'mcp__brain__task',
      'mcp__brain__execute',
      'mcp__brain__executions',
      'Read',
      'Grep',
      'Glob',
      'Edit',
      'Write',
      'Bash',
    ]);
    expect(coder.front.model).toBe('sonnet');
    expect(coder.body).toMatch(/^\nYou implement tasks from the team's board\./);
    expect(coder.body).toContain('agent `web/coder-1`');
    expect(coder.body).toContain('pass `"project": "web"` to mcp__brain__remember');
    expect(coder.body).toContain('mcp__brain__message `{"action":"inbox","agent":"web/coder-1"}`');
    expect(coder.body).toContain('`{"action":"ack","agent":"web/coder-1","ids":[1]}`');
    expect(coder.body).toContain('mcp__brain__task `{"action":"claim","agent":"web/coder-1"}`');
    expect(coder.body).toMatch(/"action":"heartbeat"[\s\S]*"action":"complete"[\s\S]*"action":"fail"/);
    expect(coder.body).toContain('Report to `web/lead`');
    // Workers take work; they do not hand it out.
    expect(coder.body).not.toContain('"action":"post"');
    // The manifest closes the body.
    expect(coder.body).toMatch(/# Coder 1 \(web\/coder-1\)[\s\S]*## Skills\n- TypeScript/);

    const lead = parse(path.join(out, 'web-lead.md'));
    expect(lead.front.tools).toContain('mcp__brain__cluster');
    expect(lead.front.tools).not.toContain('mcp__brain__execute');
    expect(lead.front.model).toBe('opus');
    expect(lead.body).toContain('"action":"post","agent":"web/lead","cluster":"web"');
    expect(lead.body).toContain('You are the root of the team');
  });

  it('names only tools the server lists, with the server name given', () => {
    toolNames = ['remember', 'recall', 'search'];
    svc.create({ blueprint: 'software-team', id: 'web' });
    const out = path.join(dir, 'agents');
    exportCluster(svc.ctx, { id: 'web', dir: out, server: 'team-brain' });
    const coder = parse(path.join(out, 'web-coder-2.md'));
    expect(coder.front.tools).toBe('mcp__team-brain__remember, mcp__team-brain__recall, mcp__team-brain__search, Read, Grep, Glob, Edit, Write, Bash');
    // Without message and task tools the body says nothing about them.
    expect(coder.body).not.toMatch(/inbox|claim/);
    expect(coder.body).toContain('You answer to `web/lead`');
    expect(() => exportCluster(svc.ctx, { id: 'web', dir: out, server: 'my brain' })).toThrow(/"server" is the name brain has in your MCP config/);
  });

  it('a hibernated cluster exports its standing agents; a destroyed one is refused', () => {
    svc.create({ blueprint: 'marketing-department', id: 'mkt' });
    svc.hibernate('mkt');
    const out = path.join(dir, 'mkt');
    expect(exportCluster(svc.ctx, { id: 'mkt', dir: out }).files).toEqual(['mkt-supervisor.md', 'mkt-analyst.md', 'mkt-creator.md', 'mkt-publisher.md']);
    svc.destroy('mkt');
    expect(() => exportCluster(svc.ctx, { id: 'mkt', dir: path.join(dir, 'other') })).toThrow('Cannot export cluster "mkt": it is destroyed; from destroyed you can: restore.');
    expect(fs.existsSync(path.join(dir, 'other'))).toBe(false);
    expect(() => exportCluster(svc.ctx, { id: 'nope', dir: out })).toThrow(/No cluster "nope"/);
  });

  it('paths: relative to the working directory, no ".." segment, nothing written outside, no temp files left', () => {
    svc.create({ blueprint: 'software-team', id: 'web' });
    const cwd = path.join(dir, 'work');
    fs.mkdirSync(cwd);
    expect(exportCluster(svc.ctx, { id: 'web', dir: '.claude/agents', cwd }).dir).toBe(path.join(cwd, '.claude', 'agents'));
    expect(fs.readdirSync(path.join(cwd, '.claude', 'agents')).every((f) => /^web-[a-z0-9-]+\.md$/.test(f))).toBe(true);

    for (const bad of ['../outside', 'a/../../b', `${cwd}/..`, 'a\\..\\b', '..']) {
      expect(() => exportCluster(svc.ctx, { id: 'web', dir: bad, cwd }), bad).toThrow(/may not contain "\.\." segments/);
    }
    expect(() => exportCluster(svc.ctx, { id: 'web', dir: '  ', cwd })).toThrow(/"dir" is empty/);
    expect(fs.readdirSync(dir).filter((f) => !f.startsWith('brain.db'))).toEqual(['work']);
    expect(fs.readdirSync(cwd)).toEqual(['.claude']);

    // A file where the directory should be: a clear error, nothing written.
    const file = path.join(dir, 'taken');
    fs.writeFileSync(file, 'x');
    expect(() => exportCluster(svc.ctx, { id: 'web', dir: file })).toThrow(/Cannot create the directory/);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');

    // Exporting again replaces the files in place (rename over), leaving no temp files behind.
    const again = exportCluster(svc.ctx, { id: 'web', dir: '.claude/agents', cwd });
    expect(fs.readdirSync(again.dir).sort()).toEqual([...again.files].sort());
  });
});

describe('cluster settings and wiring', () => {
  it('reads BRAIN_MESSAGE_RETENTION_HOURS and BRAIN_CLUSTER_SCALE_INTERVAL_SEC, refusing bad values by name', () => {
    expect(loadConfig(brainEnv(dir))).toMatchObject({ messageRetentionHours: 24, clusterScaleIntervalMs: 30_000 });
    expect(loadConfig(brainEnv(dir, { BRAIN_MESSAGE_RETENTION_HOURS: '2.5', BRAIN_CLUSTER_SCALE_INTERVAL_SEC: '0' }))).toMatchObject({ messageRetentionHours: 2.5, clusterScaleIntervalMs: 0 });
    expect(() => loadConfig(brainEnv(dir, { BRAIN_MESSAGE_RETENTION_HOURS: '0' }))).toThrow(ConfigError);
    expect(() => loadConfig(brainEnv(dir, { BRAIN_CLUSTER_SCALE_INTERVAL_SEC: 'often' }))).toThrow(/BRAIN_CLUSTER_SCALE_INTERVAL_SEC="often"/);
  });

  it('the app exposes the cluster service, whose export sees every tool the server lists', () => {
    const app = createApp(testConfig(tempDir()));
    try {
      const names = app.clusters.ctx.toolNames();
      expect(names).toEqual(app.tools.map((t) => t.name));
      expect(names).toEqual(expect.arrayContaining(['blueprint', 'cluster', 'remember', 'note']));
      expect(app.clusters.ctx.messageRetentionHours).toBe(24);
    } finally {
      app.close();
    }
  });
});
