// Clusters through the real built server over stdio, as Claude Code drives them: the whole
// lifecycle with both example blueprints (every transition visible through `events`), bad input
// that gets a clear error and changes nothing, the export as Claude Code subagents, and the
// `brain blueprint` CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { brainEnv, call, callError, CLI, ROOT, startBrain, tempDir, type Connected } from './helpers/brain.js';

const exampleFile = (name: string) => path.join(ROOT, 'blueprints', `${name}.yaml`);
const example = (name: string) => fs.readFileSync(exampleFile(name), 'utf8');

interface AgentOut {
  id: string;
  role: string;
  template: string;
  parent: string | null;
  state: string;
}
interface ClusterOut {
  id: string;
  status: string;
  project: string;
  workers: { min: number; max: number; target: number; live: number };
}
interface TreeOut {
  id: string;
  reports: TreeOut[];
}
interface EventOut {
  id: number;
  type: string;
  source: string;
  details?: { cluster?: string; action?: string; from?: unknown; to?: unknown };
}

let dir: string;
let env: Record<string, string>;
let brain: Connected | undefined;

beforeEach(() => {
  dir = tempDir();
  env = brainEnv(dir);
});
afterEach(async () => {
  await brain?.close();
  brain = undefined;
});

/** A brain whose every result the client checks against the tool's output schema (it does so only after tools/list). */
async function start(): Promise<Client> {
  brain = await startBrain(env);
  await brain.client.listTools();
  return brain.client;
}

const cluster = <T = { cluster: ClusterOut; agents: AgentOut[] }>(c: Client, args: Record<string, unknown>) => call<T>(c, 'cluster', args);

const CLUSTER_EVENTS = ['cluster.planning', 'cluster.spawning', 'cluster.active', 'cluster.hibernated', 'cluster.destroyed', 'cluster.scaled', 'cluster.updated'];

/** The events of one cluster, oldest first, as "type:action" ("type:from->to" for scaling). */
async function clusterEvents(c: Client, id: string): Promise<string[]> {
  const { events } = await call<{ events: EventOut[] }>(c, 'events', { type: CLUSTER_EVENTS, source: 'brain', limit: 100 });
  return events
    .filter((e) => e.details?.cluster === id)
    .sort((a, b) => a.id - b.id)
    .map((e) => (e.details?.action ? `${e.type}:${e.details.action}` : e.type === 'cluster.scaled' ? `${e.type}:${String(e.details?.from)}->${String(e.details?.to)}` : e.type));
}

/** Agent id -> ids reporting to it, from the tree. */
function treeShape(node: TreeOut): Record<string, unknown> {
  return { [node.id]: node.reports.map(treeShape) };
}

const BLUEPRINTS = [
  {
    name: 'software-team',
    id: 'web',
    bounds: { min: 1, max: 4, target: 2 },
    core: ['web/lead', 'web/reviewer', 'web/tester'],
    tree: { 'web/lead': [{ 'web/reviewer': [] }, { 'web/tester': [] }, { 'web/coder-1': [] }, { 'web/coder-2': [] }] },
  },
  {
    name: 'marketing-department',
    id: 'mkt',
    bounds: { min: 2, max: 8, target: 2 },
    core: ['mkt/supervisor', 'mkt/analyst', 'mkt/creator', 'mkt/publisher'],
    tree: {
      'mkt/supervisor': [{ 'mkt/analyst': [] }, { 'mkt/creator': [{ 'mkt/image-generator-1': [] }] }, { 'mkt/publisher': [{ 'mkt/fb-publisher-1': [] }] }],
    },
  },
];

describe('clusters over stdio', () => {
  it.each(BLUEPRINTS)('the whole lifecycle with the $name blueprint', async (bp) => {
    const c = await start();
    const saved = await call<{ blueprint: { id: string; revision: number; changed: boolean } }>(c, 'blueprint', { action: 'save', yaml: example(bp.name) });
    expect(saved.blueprint).toMatchObject({ id: bp.name, revision: 1, changed: true });
    // Saving the same text again makes no new revision.
    expect((await call<{ blueprint: { revision: number; changed: boolean } }>(c, 'blueprint', { action: 'save', yaml: example(bp.name) })).blueprint).toMatchObject({ revision: 1, changed: false });
    const got = await call<{ blueprint: { yaml: string } }>(c, 'blueprint', { action: 'get', id: bp.name });
    expect(got.blueprint.yaml).toBe(example(bp.name));

    // create: planning -> spawning -> active, the core agents and the target number of workers.
    const created = await cluster(c, { action: 'create', blueprint: bp.name, id: bp.id });
    expect(created.cluster).toMatchObject({ id: bp.id, status: 'active', project: bp.id, workers: { ...bp.bounds, live: bp.bounds.target } });
    expect(created.agents.filter((a) => a.role !== 'worker').map((a) => a.id)).toEqual(bp.core);
    expect((await cluster<{ clusters: ClusterOut[] }>(c, { action: 'list', blueprint: bp.name })).clusters.map((x) => x.id)).toEqual([bp.id]);

    // The hierarchy follows the blueprint.
    const { tree } = await cluster<{ tree: TreeOut }>(c, { action: 'tree', id: bp.id });
    expect(treeShape(tree)).toEqual(bp.tree);

    // Scale up to max and down to min; ids are stable.
    const up = await cluster<{ cluster: ClusterOut; change: { started: string[] } }>(c, { action: 'scale', id: bp.id, target: bp.bounds.max });
    expect(up.cluster.workers.live).toBe(bp.bounds.max);
    expect(up.change.started).toHaveLength(bp.bounds.max - bp.bounds.target);
    const down = await cluster<{ cluster: ClusterOut; change: { retired: string[] } }>(c, { action: 'scale', id: bp.id, target: bp.bounds.min });
    expect(down.cluster.workers).toMatchObject({ live: bp.bounds.min, target: bp.bounds.min });
    expect(down.change.retired).toHaveLength(bp.bounds.max - bp.bounds.min);

    // Hibernate: workers retired, the rest stay.
    const asleep = await cluster(c, { action: 'hibernate', id: bp.id });
    expect(asleep.cluster).toMatchObject({ status: 'hibernated', workers: { live: 0 } });
    const sleeping = await cluster(c, { action: 'get', id: bp.id });
    expect(sleeping.agents.filter((a) => a.state !== 'retired').map((a) => a.id)).toEqual(bp.core);

    // Reactivate: back to the target (the last scale set it to min).
    const awake = await cluster(c, { action: 'reactivate', id: bp.id });
    expect(awake.cluster).toMatchObject({ status: 'active', workers: { live: bp.bounds.min } });

    // Destroy, then restore within the retention period: back hibernated, core agents idle.
    const gone = await cluster<{ cluster: ClusterOut; restorable_until: string }>(c, { action: 'destroy', id: bp.id });
    expect(gone.cluster.status).toBe('destroyed');
    expect(Date.parse(gone.restorable_until)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect((await cluster<{ clusters: ClusterOut[] }>(c, { action: 'list' })).clusters).toEqual([]);
    expect((await cluster<{ clusters: ClusterOut[] }>(c, { action: 'list', status: 'destroyed' })).clusters.map((x) => x.id)).toEqual([bp.id]);
    const back = await cluster(c, { action: 'restore', id: bp.id });
    expect(back.cluster.status).toBe('hibernated');
    const restored = await cluster(c, { action: 'get', id: bp.id });
    expect(restored.agents.filter((a) => a.state === 'idle').map((a) => a.id)).toEqual(bp.core);
    expect((await cluster(c, { action: 'reactivate', id: bp.id })).cluster.workers.live).toBe(bp.bounds.min);

    // Every transition is an event, in order.
    const { min, max, target } = bp.bounds;
    expect(await clusterEvents(c, bp.id)).toEqual([
      'cluster.planning',
      'cluster.spawning:spawn',
      'cluster.active:activate',
      `cluster.scaled:${target}->${max}`,
      `cluster.scaled:${max}->${min}`,
      'cluster.hibernated:hibernate',
      'cluster.active:reactivate',
      'cluster.destroyed:destroy',
      'cluster.hibernated:restore',
      'cluster.active:reactivate',
    ]);
  });

  it('bad input gets a clear error and changes nothing', async () => {
    const c = await start();
    const good = example('software-team');
    await call(c, 'blueprint', { action: 'save', yaml: good });
    await cluster(c, { action: 'create', blueprint: 'software-team', id: 'web' });
    await cluster(c, { action: 'create', blueprint: 'software-team', id: 'sleepy' });
    await cluster(c, { action: 'hibernate', id: 'sleepy' });
    await cluster(c, { action: 'create', blueprint: 'software-team', id: 'gone' });
    await cluster(c, { action: 'destroy', id: 'gone' });

    const state = async () =>
      JSON.stringify({
        blueprints: await call(c, 'blueprint', { action: 'list' }),
        clusters: await Promise.all(['web', 'sleepy', 'gone'].map((id) => cluster(c, { action: 'get', id }))),
        // Cluster events only: start-up work (rebalance, sandbox warm-up) may log its own meanwhile.
        events: (await call<{ stats: { total: number } }>(c, 'events', { type: CLUSTER_EVENTS, stats: true, limit: 0 })).stats.total,
      });
    const before = await state();

    const refused = async (tool: string, args: Record<string, unknown>, pattern: RegExp) => expect(await callError(c, tool, args), JSON.stringify(args).slice(0, 200)).toMatch(pattern);
    const saveRefused = (text: string, pattern: RegExp) => refused('blueprint', { action: 'save', yaml: text }, pattern);

    // Unknown blueprint or cluster.
    await refused('cluster', { action: 'create', blueprint: 'nope' }, /No blueprint "nope"\. Blueprints: software-team\./);
    await refused('blueprint', { action: 'get', id: 'nope' }, /No blueprint "nope"/);
    await refused('blueprint', { action: 'delete', id: 'nope' }, /No blueprint "nope"/);
    await refused('cluster', { action: 'get', id: 'nope' }, /No cluster "nope"\. Clusters: /);
    await refused('cluster', { action: 'scale', id: 'nope', target: 2 }, /No cluster "nope"/);
    // YAML that is not a mapping, or not YAML at all.
    await saveRefused('- a\n- b\n', /the YAML must be a mapping with metadata, cluster and agents, not a list/);
    await saveRefused('just words', /must be a mapping.*not a string/);
    await saveRefused('metadata: [unclosed', /the YAML cannot be read at line/);
    // Duplicate ids, a cycle, an orphan, a second root.
    await saveRefused(good.replace('- id: tester', '- id: reviewer'), /agents\[2\]\.id: duplicate agent id "reviewer" \(also agents\[1\]\)/);
    await saveRefused(
      good.replace('parent: lead\n    name: Code reviewer', 'parent: tester\n    name: Code reviewer').replace('parent: lead\n    name: Tester', 'parent: reviewer\n    name: Tester'),
      /agents\[1\]\.parent: "reviewer" is in a cycle \(reviewer -> tester -> reviewer\)/,
    );
    await saveRefused(good.replace('parent: lead\n    name: Coder', 'parent: lead-x\n    name: Coder'), /agents\[3\]\.parent: unknown agent "lead-x"/);
    await saveRefused(good.replace('    parent: lead\n    name: Tester', '    name: Tester'), /2 agents have no parent \(lead, tester\)/);
    // Worker bounds.
    await saveRefused(good.replace('min_workers: 1', 'min_workers: 5'), /cluster\.min_workers: 5 is more than max_workers 4/);
    await saveRefused(good.replace('target_workers: 2', 'target_workers: 9'), /cluster\.target_workers: 9 is outside min_workers\.\.max_workers \(1\.\.4\)/);
    await refused('cluster', { action: 'update', id: 'web', min: 3, max: 2 }, /"min" 3 is more than "max" 2/);
    await refused('cluster', { action: 'create', blueprint: 'software-team', target: 9 }, /"target" 9 is outside the blueprint's 1\.\.4 workers/);
    await refused('cluster', { action: 'scale', id: 'web', target: 7 }, /runs 1\.\.4 workers; 7 is outside/);
    // An alias bomb: ten levels of ten aliases is 10^10 values once expanded.
    const levels = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    await saveRefused(levels.join('\n'), /expands to more than 100000 values through its aliases/);
    // Over the 256 KiB limit.
    await saveRefused(good + `\n# ${'x'.repeat(270 * 1024)}\n`, /the text is \d+ bytes; a blueprint may be at most 262144 bytes/);
    // Scaling a hibernated or destroyed cluster.
    await refused('cluster', { action: 'scale', id: 'sleepy', target: 3 }, /Cannot scale cluster "sleepy": it is hibernated; from hibernated you can: update, reactivate, destroy, export\./);
    await refused('cluster', { action: 'scale', id: 'gone', target: 3 }, /Cannot scale cluster "gone": it is destroyed; from destroyed you can: restore\./);
    await refused('cluster', { action: 'hibernate', id: 'gone' }, /it is destroyed/);
    await refused('cluster', { action: 'restore', id: 'web' }, /Cannot restore cluster "web": it is active/);
    // An export path with "..".
    // Built by hand: path.join would resolve the ".." away before brain saw it.
    const escape = `${dir}/agents/../escaped`;
    await refused('cluster', { action: 'export', id: 'web', dir: escape }, /may not contain "\.\." segments/);
    expect(fs.existsSync(path.join(dir, 'escaped'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'agents'))).toBe(false);
    // Fields: what an action needs, and what it does not use.
    await refused('cluster', { action: 'scale', id: 'web' }, /cluster scale needs "target" \(scale takes "id" and "target"\)\./);
    await refused('cluster', { action: 'export', id: 'web' }, /cluster export needs "dir" \(export takes "id", "dir", "server"\)\./);
    await refused('cluster', { action: 'create' }, /cluster create needs "blueprint" \(create takes "blueprint", "id", "name", "description", "project", "target"\)\./);
    await refused('cluster', { action: 'get', id: 'web', dir: '/tmp' }, /cluster get does not use "dir"; remove it \(get takes "id"\)\./);
    await refused('cluster', { action: 'update', id: 'web' }, /needs at least one of "name", "description", "min", "max", "target"/);
    await refused('blueprint', { action: 'save' }, /blueprint save needs "yaml" \(save takes "yaml"\)\./);
    await refused('cluster', { action: 'explode', id: 'web' }, /"action"/);
    // A blueprint in use cannot be deleted.
    await refused('blueprint', { action: 'delete', id: 'software-team' }, /used by clusters sleepy, web; destroy them first/);

    expect(await state()).toBe(before);
  });

  it('exports the cluster as Claude Code subagents that name only tools brain lists', async () => {
    const c = await start();
    await call(c, 'blueprint', { action: 'save', yaml: example('software-team') });
    await cluster(c, { action: 'create', blueprint: 'software-team', id: 'web' });
    await cluster(c, { action: 'scale', id: 'web', target: 3 });
    const out = path.join(dir, 'project', '.claude', 'agents');
    const exported = await cluster<{ dir: string; files: string[] }>(c, { action: 'export', id: 'web', dir: out });
    expect(exported.dir).toBe(out);

    const { tools } = await c.listTools();
    const listed = new Set(tools.map((t) => t.name));
    const spec = yaml.load(example('software-team')) as { agents: { id: string; claude_tools?: string[] }[] };
    const live = (await cluster(c, { action: 'get', id: 'web' })).agents.filter((a) => a.state !== 'retired');
    expect(live).toHaveLength(6);
    expect(fs.readdirSync(out).sort()).toEqual(live.map((a) => `${a.id.replace('/', '-')}.md`).sort());
    expect(exported.files.sort()).toEqual(fs.readdirSync(out).sort());

    const names: string[] = [];
    for (const agent of live) {
      const text = fs.readFileSync(path.join(out, `${agent.id.replace('/', '-')}.md`), 'utf8');
      const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
      expect(m, agent.id).toBeTruthy();
      const front = yaml.load(m![1]) as { name: string; description: string; tools: string };
      names.push(front.name);
      expect(front.name).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
      expect(front.description).toContain(`brain cluster web`);
      const claudeTools = spec.agents.find((a) => a.id === agent.template)!.claude_tools ?? [];
      for (const tool of front.tools.split(', ')) {
        if (tool.startsWith('mcp__brain__')) expect(listed.has(tool.slice('mcp__brain__'.length)), `${agent.id}: ${tool}`).toBe(true);
        else expect(claudeTools, `${agent.id}: ${tool}`).toContain(tool);
      }
      expect(m![2]).toContain(`agent \`${agent.id}\``);
    }
    expect(names.sort()).toEqual(live.map((a) => a.id.replace('/', '-')).sort());
  });

  it('brain blueprint validate / save / list, and a 50 MB file refused before it is read', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'blueprint', ...args], { env, encoding: 'utf8', timeout: 60_000 });

    const valid = cli('validate', '--json', exampleFile('marketing-department'));
    expect(valid.status).toBe(0);
    expect(JSON.parse(valid.stdout)).toMatchObject({ valid: true, id: 'marketing-department', workers: { min: 2, max: 8, target: 2 } });

    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, example('software-team').replace('parent: lead\n    name: Coder', 'parent: lead-x\n    name: Coder'));
    const invalid = cli('validate', broken);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/broken\.yaml: Invalid blueprint: agents\[3\]\.parent: unknown agent "lead-x"/);

    // A sparse 50 MB file: refused from its size, so the test stays cheap and brain reads nothing.
    const huge = path.join(dir, 'huge.yaml');
    fs.writeFileSync(huge, 'metadata:\n');
    fs.truncateSync(huge, 50 * 1024 * 1024);
    for (const sub of ['validate', 'save']) {
      const r = cli(sub, huge);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/huge\.yaml is 52428800 bytes; a blueprint may be at most 262144 bytes \(256 KiB\)\. Nothing was read or saved\./);
    }
    expect(cli('save', broken).status).toBe(1);
    expect(JSON.parse(cli('list', '--json').stdout)).toEqual([]);

    expect(cli('validate', path.join(dir, 'missing.yaml'))).toMatchObject({ status: 2, stderr: expect.stringMatching(/missing\.yaml does not exist/) });
    expect(cli('validate', dir)).toMatchObject({ status: 2, stderr: expect.stringMatching(/is not a file/) });
    const frob = cli('frob');
    expect(frob).toMatchObject({ status: 2, stderr: expect.stringMatching(/unknown command "blueprint frob"/) });
    for (const sub of ['validate FILE', 'save FILE', 'list']) expect(frob.stderr).toContain(`brain blueprint ${sub}`);

    const saved = cli('save', '--json', exampleFile('software-team'));
    expect(saved.status).toBe(0);
    expect(JSON.parse(saved.stdout)).toMatchObject({ id: 'software-team', revision: 1, changed: true });
    expect(JSON.parse(cli('list', '--json').stdout)).toEqual([expect.objectContaining({ id: 'software-team', revision: 1, revisions: 1 })]);
  });
});
