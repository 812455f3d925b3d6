// `brain export` is the whole logical store and `brain import` restores it into an empty database:
// projects with their context, memories and their versions, notes (front matter and body), events,
// blueprints, clusters with their agents, task board and messages. Exported again from the new
// database, the file is the same line for line; imported twice, nothing changes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brainEnv, call, CLI, ROOT, startBrain, tempDir, type Connected } from './helpers/brain.js';

const brain = (env: Record<string, string>, args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });

let sourceDir: string;
let source: Record<string, string>;
let file: string;
let lines: string[];

beforeAll(async () => {
  sourceDir = tempDir('brain-export-');
  source = brainEnv(sourceDir);
  const s: Connected = await startBrain(source);
  const c = s.client;
  try {
    await call(c, 'init', { project: 'apollo' });
    await call(c, 'project', { action: 'save', description: 'Moon landing', add: { goals: ['land on the moon'], decisions: ['Saturn V'], conventions: ['metric units'], open_questions: ['which crater?'] } });
    await call(c, 'project', { action: 'save', name: 'gemini', create: true, description: 'Earlier program' });
    await call(c, 'project', { action: 'save', name: 'gemini', archived: true });
    await call(c, 'remember', { key: 'fuel', content: 'kerosene and liquid oxygen', tags: ['rocket'], importance: 0.8 });
    await call(c, 'remember', { key: 'fuel', content: 'RP-1 and liquid oxygen', tags: ['rocket'], importance: 0.8 });
    await call(c, 'remember', { key: 'editor', content: 'prefers vim', type: 'user_preferences', project: 'global' });
    await call(c, 'note', { action: 'write', title: 'Launch plan', content: 'Countdown at T-10.\n\nSee [[Crew]].', tags: ['launch', 'plan'] });
    await call(c, 'note', { action: 'write', title: 'Crew', content: 'Armstrong, Aldrin, Collins', project: 'global' });
    await call(c, 'events', { action: 'record', type: 'deploy', severity: 'warning', message: 'launch pad 39A ready', details: { pad: '39A' } });
    await call(c, 'blueprint', { action: 'save', yaml: fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8') });
    await call(c, 'cluster', { action: 'create', blueprint: 'software-team', name: 'Web team' });
    await call(c, 'message', { action: 'send', agent: 'web-team/lead', to_role: 'coder', subject: 'start', body: 'pick up the board' });
    const posted = await call<{ task: { id: number } }>(c, 'task', { action: 'post', cluster: 'web-team', kind: 'code', payload: { what: 'add --json' } });
    const claimed = await call<{ task: { id: number } | null }>(c, 'task', { action: 'claim', agent: 'web-team/coder-1' });
    expect(claimed.task?.id).toBe(posted.task.id);
    await call(c, 'task', { action: 'complete', agent: 'web-team/coder-1', id: posted.task.id, result: { ok: true } });
    await call(c, 'task', { action: 'post', cluster: 'web-team', kind: 'review' });
  } finally {
    await s.close();
  }
  file = path.join(sourceDir, 'everything.jsonl');
  const exported = brain(source, ['export', file]);
  expect(exported.status, exported.stderr).toBe(0);
  lines = fs.readFileSync(file, 'utf8').trim().split('\n');
}, 120_000);

afterAll(() => undefined);

describe('brain export and import', () => {
  it('the export holds every kind of record, in the order an import needs', () => {
    const kinds = lines.map((l) => (JSON.parse(l) as { kind: string }).kind);
    const order = ['project', 'memory', 'memory_history', 'note', 'event', 'blueprint', 'cluster', 'cluster_agent', 'cluster_task', 'cluster_message'];
    expect([...new Set(kinds)]).toEqual(order);
    const count = (k: string) => kinds.filter((x) => x === k).length;
    expect([count('project'), count('memory'), count('memory_history'), count('note'), count('blueprint'), count('cluster'), count('cluster_agent'), count('cluster_task')]).toEqual([3, 2, 1, 2, 1, 1, 5, 2]);
    expect(count('cluster_message')).toBeGreaterThanOrEqual(2);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => r.kind === 'project' && r.name === 'apollo')).toMatchObject({
      description: 'Moon landing',
      context: { goals: ['land on the moon'], decisions: ['Saturn V'], conventions: ['metric units'], open_questions: ['which crater?'] },
    });
    const plan = records.find((r) => r.kind === 'note' && r.path === 'Launch plan.md')!;
    expect(plan).toMatchObject({ project: 'apollo', title: 'Launch plan', tags: ['launch', 'plan'] });
    // The file as it is: front matter and body.
    expect(plan.text).toMatch(/^---\n[\s\S]*title: Launch plan[\s\S]*\n---\n[\s\S]*Countdown at T-10\.\n\nSee \[\[Crew\]\]\./);
    expect(records.find((r) => r.kind === 'event' && r.event_type === 'deploy')).toMatchObject({ severity: 'warning', details: { pad: '39A' } });
    expect(records.find((r) => r.kind === 'cluster_task' && r.status === 'succeeded')).toMatchObject({ payload: { what: 'add --json' }, result: { ok: true }, claimed_by: 'web-team/coder-1' });
  });

  it('imported into an empty database it restores everything: the same export line for line, and every tool sees it', async () => {
    const targetDir = tempDir('brain-import-');
    const target = brainEnv(targetDir);
    const imported = brain(target, ['import', '--json', file]);
    expect(imported.status, imported.stdout + imported.stderr).toBe(0);
    const report = JSON.parse(imported.stdout) as { format: string; history: number; errors: string[]; kinds: Record<string, { created: number; skipped: number }> };
    expect(report).toMatchObject({ format: 'brain', history: 1, errors: [] });
    for (const [kind, t] of Object.entries(report.kinds)) if (kind !== 'memory_history') expect(t.skipped, kind).toBe(0);
    expect(report.kinds.note).toEqual({ created: 2, skipped: 0 });

    const again = brain(target, ['export']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual(lines);
    // The note files themselves are back, byte for byte.
    for (const rel of ['apollo/Launch plan.md', '_global/Crew.md']) {
      expect(fs.readFileSync(path.join(targetDir, 'notes', rel), 'utf8')).toBe(fs.readFileSync(path.join(sourceDir, 'notes', rel), 'utf8'));
    }

    const t = await startBrain(target);
    try {
      const c = t.client;
      const projects = await call<{ projects: { name: string; status: string; context: { goals: string[] } }[] }>(c, 'project', { action: 'list', name: 'apollo' });
      expect(projects.projects[0].context.goals).toEqual(['land on the moon']);
      await call(c, 'init', { project: 'apollo' });
      const fuel = await call<{ results: { content: string }[]; history?: { content: string }[] }>(c, 'recall', { key: 'fuel', history: true });
      expect(fuel.results[0].content).toBe('RP-1 and liquid oxygen');
      expect(fuel.history?.map((h) => h.content)).toEqual(['kerosene and liquid oxygen']);
      const note = await call<{ content: string; tags: string[]; links: unknown[] }>(c, 'note', { action: 'read', title: 'Launch plan' });
      expect(note.content).toMatch(/Countdown at T-10/);
      expect(note.tags).toEqual(['launch', 'plan']);
      const found = await call<{ results: { kind: string }[] }>(c, 'search', { query: 'countdown' });
      expect(found.results.map((r) => r.kind)).toEqual(['note']);
      expect((await call<{ events: { message: string }[] }>(c, 'events', { query: 'launch pad' })).events.map((e) => e.message)).toEqual(['launch pad 39A ready']);
      const cluster = await call<{ cluster: { status: string; project: string } }>(c, 'cluster', { action: 'get', id: 'web-team' });
      expect(cluster.cluster).toMatchObject({ status: 'active', project: 'web-team' });
      const tasks = await call<{ tasks: { status: string }[] }>(c, 'task', { action: 'list', cluster: 'web-team' });
      expect(tasks.tasks.map((x) => x.status).sort()).toEqual(['queued', 'succeeded']);
      const inbox = await call<{ messages: { subject: string }[] }>(c, 'message', { action: 'inbox', agent: 'web-team/coder-1' });
      expect(inbox.messages.map((m) => m.subject)).toEqual(['start']);
      // The board still works on the restored rows: the queued task can be claimed.
      expect((await call<{ task: { kind: string } | null }>(c, 'task', { action: 'claim', agent: 'web-team/coder-2' })).task?.kind).toBe('review');
    } finally {
      await t.close();
    }

    // A second import of the same file adds nothing and changes nothing.
    const twice = brain(target, ['import', file]);
    expect(twice.status, twice.stderr).toBe(0);
    expect(twice.stdout).toMatch(/: 0 created, 0 updated, \d+ skipped/);
    expect(twice.stdout).toMatch(/besides memories: project 0 created, 3 skipped; note 0 created, 2 skipped; event 0 created, \d+ skipped; blueprint 0 created, 1 skipped; cluster 0 created, 1 skipped; cluster agent 0 created, 5 skipped/);
  });

  it('a bad record is named with its line and the rest goes in', () => {
    const targetDir = tempDir('brain-import-bad-');
    const target = brainEnv(targetDir);
    const bad = path.join(targetDir, 'bad.jsonl');
    const project = JSON.parse(lines[0]) as Record<string, unknown>;
    fs.writeFileSync(bad, [JSON.stringify({ ...project, status: 'sleeping' }), JSON.stringify({ kind: 'spaceship' }), ...lines.slice(1)].join('\n') + '\n');
    const r = brain(target, ['import', bad]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^brain import: line 1: CHECK constraint failed/m);
    expect(r.stderr).toMatch(/^brain import: line 2: "kind" "spaceship" is not one brain exports/m);
    expect(brain(target, ['export']).stdout.trim().split('\n').length).toBe(lines.length - 1);
  });
});
