// Every tool's arguments fuzzed from the input schema the client sees (tools/list): mostly values
// the schema allows, with wrong types, nulls, control characters, extremes and unknown keys mixed
// in at every level. A call may be accepted or refused, but brain must never crash, never answer
// with an internal error, and a refused call must change no data.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { ToolActions } from '../../src/core/tool-actions.js';
import { brainEnv, ROOT, tempDir, testConfig } from '../helpers/brain.js';
import { knob, report } from './figures.js';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxItems?: number;
  format?: string;
  pattern?: string;
}

/** Values of the wrong kind, and edge values, mixed into every level of the arguments. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(''),
  fc.constant(1.5),
  fc.constant(-1),
  fc.constant(2 ** 53),
  fc.constant([]),
  fc.constant({}),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 6 }).map((s) => `${s}\u0000\u202e\n`),
  fc.constant('x'.repeat(5000)),
);

/** Names that pass brain's rules for projects, keys, types, tags and agent ids, and name what the test made. */
const PLAUSIBLE = ['demo', 'editor', 'fact', 'tools', 'plan', 'web', 'web/lead', 'web/tester', 'web/coder-1', 'software-team', 'test', 'global'];

/** The fields chosen to be there ({ v }), without the ones left out (undefined). */
const present = (r: Record<string, { v: unknown } | undefined>) => Object.fromEntries(Object.entries(r).flatMap(([k, x]) => (x ? [[k, x.v]] : [])));

/** Numbers a fuzzed call may wait for: a real client's long wait is fine, a fuzz run's is not. */
const waits = /wait|timeout|lease/;

/** `top`: the tool's action table, for the arguments object itself (merged tools only). */
function valid(schema: Schema, name: string, dir: string, top?: ToolActions): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => valid(s, name, dir)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      // Directories a tool writes into (cluster export) stay inside the test's folder.
      if (name === 'dir') return fc.stringMatching(/^[a-z0-9/._-]{0,20}$/).map((s) => path.join(dir, s));
      if (schema.pattern) {
        const max = Math.min(schema.maxLength ?? 40, 60);
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= max && s.length >= (schema.minLength ?? 0));
      }
      if (schema.format === 'date-time' || /^(since|until|before|after)$/.test(name)) return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
      // Names brain checks with a rule of its own (projects, types, keys, agent ids) are mostly
      // ones that pass it and name what the test made; random text the rest of the time.
      return fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...PLAUSIBLE).filter((s) => s.length >= (schema.minLength ?? 0) && s.length <= (schema.maxLength ?? 60)) },
        { weight: 2, arbitrary: fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 60), unit: fc.oneof(fc.constant('a'), fc.constant(' '), fc.constant('-'), fc.constant('é'), fc.constant('*'), fc.constant('"'), fc.string({ minLength: 1, maxLength: 1 })) }) },
      );
    case 'integer':
    case 'number': {
      // The merged tools' schemas leave most bounds to the sentence brain answers with: mostly the
      // small counts and ids a client sends (ids 1-8 name rows the test made), now and then extremes.
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1_000_000);
      const max = waits.test(name) ? Math.min(schema.maximum ?? 1, min + 1) : (schema.maximum ?? 1_000_000);
      const low = Math.max(min, 0);
      const upTo = (n: number) => fc.integer({ min: low, max: Math.max(low, Math.min(max, n)) });
      const any = type === 'integer' ? fc.integer({ min, max: Math.max(min, max) }) : fc.double({ min, max: Math.max(min, max), noNaN: true, noDefaultInfinity: true });
      const fraction = type === 'number' && min <= 0 && max >= 1 ? [{ weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }) }] : [];
      return fc.oneof({ weight: 3, arbitrary: upTo(8) }, ...fraction, { weight: 1, arbitrary: upTo(100) }, { weight: 1, arbitrary: any });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(value(schema.items ?? {}, name, dir), { maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'object': {
      if (!schema.properties) {
        const item = typeof schema.additionalProperties === 'object' ? value(schema.additionalProperties, name, dir) : fc.jsonValue({ maxDepth: 2 });
        return fc.dictionary(fc.string({ maxLength: 8 }), item, { maxKeys: 3 });
      }
      // Now and then a key the schema does not know.
      const extra = fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), wrong) });
      const withExtra = (record: fc.Arbitrary<Record<string, unknown>>) => fc.tuple(record, extra).map(([r, e]) => (e ? { ...r, [e[0]]: e[1] } : r));
      if (top) return fc.oneof(...Object.keys(top.table).map((action) => withExtra(forAction(schema, action, top, dir))));
      // Each optional field a third of the time: a call with every field filled is seldom one a
      // client sends, and seldom one whose every field passes.
      const shape: Record<string, fc.Arbitrary<{ v: unknown } | undefined>> = {};
      for (const [key, sub] of Object.entries(schema.properties)) {
        const given = value(sub, key, dir).map((v) => ({ v }));
        shape[key] = (schema.required ?? []).includes(key) ? given : fc.oneof({ weight: 1, arbitrary: given }, { weight: 2, arbitrary: fc.constant(undefined) });
      }
      return withExtra(fc.record(shape).map(present));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * Arguments for one action of a merged tool (note, task, cluster, ...), from the action table the
 * tool declares (the one brain checks calls against): the fields the action needs are there nearly
 * always, the ones it may take half the time, another action's fields rarely (brain must refuse
 * them and change nothing).
 */
function forAction(schema: Schema, action: string, actions: ToolActions, dir: string): fc.Arbitrary<Record<string, unknown>> {
  const spec = actions.table[action];
  const weightOf = (key: string) => ((spec.needs ?? []).includes(key) ? 9 : [...(spec.takes ?? []), ...(spec.oneOf ?? []), ...(actions.always ?? [])].includes(key) ? 4 : 1);
  const maybe: Record<string, fc.Arbitrary<{ v: unknown } | undefined>> = {};
  for (const [key, sub] of Object.entries(schema.properties!)) {
    if (key === 'action') continue;
    const weight = (schema.required ?? []).includes(key) ? 10 : weightOf(key);
    maybe[key] = weight === 10 ? value(sub, key, dir).map((v) => ({ v })) : fc.oneof({ weight, arbitrary: value(sub, key, dir).map((v) => ({ v })) }, { weight: 10 - weight, arbitrary: fc.constant(undefined) });
  }
  // A tool whose action has a default (events: list) is now and then called without one.
  const omit = schema.properties!.action.default === action ? fc.boolean() : fc.constant(false);
  return fc.tuple(fc.record(maybe), omit).map(([r, leaveOut]) => ({ ...(leaveOut ? {} : { action }), ...present(r) }));
}

/** A value for this part of the schema: mostly one it allows, now and then a wrong one. */
function value(schema: Schema, name: string, dir: string): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 15, arbitrary: valid(schema, name, dir) }, { weight: 1, arbitrary: wrong });
}

/**
 * Columns that reads update (access statistics; an agent's last_seen_at, which any call made as
 * that agent moves, refused or not: the agent is alive), and tables that are logs or indexes
 * written in the background after an earlier accepted call (the word list): not the data a call
 * changes.
 */
const VOLATILE = new Set(['access_count', 'accessed_at', 'memory_score', 'touched_at', 'last_active_at', 'last_seen_at']);
const LOGS = new Set(['query_log', 'sessions', 'memory_terms']);

/** A hash of every row of each table brain keeps data in. */
function fingerprint(db: import('better-sqlite3').Database): Map<string, string> {
  const out = new Map<string, string>();
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const virtual = db.prepare("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'").pluck().all() as string[];
  for (const t of tables) {
    if (LOGS.has(t) || virtual.some((v) => t.startsWith(`${v}_`))) continue;
    const hash = createHash('sha256');
    for (const row of db.prepare(`SELECT * FROM "${t}" ORDER BY 1`).all() as Record<string, unknown>[]) {
      for (const c of VOLATILE) delete row[c];
      hash.update(JSON.stringify(row));
    }
    out.set(t, hash.digest('hex'));
  }
  return out;
}

/** The tables whose rows differ between two fingerprints. */
const changed = (a: Map<string, string>, b: Map<string, string>) => [...b.keys()].filter((t) => a.get(t) !== b.get(t));

const RUNS = knob('RELIABILITY_FUZZ_RUNS', 60);
/** execute runs real sandboxes (a few hundred ms each): fewer of those. */
const RUNS_FOR: Record<string, number> = { execute: Math.ceil(RUNS / 5) };

describe('fuzzed tool arguments', () => {
  it('never crash brain, never give an internal error, and change no data when refused', { timeout: 120_000 }, async () => {
    const dir = tempDir('brain-fuzz-');
    // No autoscaling: its timer writes cluster tables on its own, which could land inside a refused call.
    const env = brainEnv(dir, { BRAIN_SANDBOX_WARM: '0', BRAIN_MAX_EXECUTION_TIME_MS: '2000', BRAIN_CLUSTER_SCALE_INTERVAL_SEC: '0' });
    const app = createApp(testConfig(dir, env));
    const [a, b] = InMemoryTransport.createLinkedPair();
    const { server } = app.connect();
    await server.connect(a);
    const client = new Client({ name: 'fuzz', version: '1.0.0' });
    await client.connect(b);
    // Something to find, update and delete.
    // And a team whose agents can send messages and take tasks.
    const yaml = fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8');
    const setup = [
      ['remember', { key: 'editor', content: 'The user edits with vim.', tags: ['tools'] }],
      ['note', { action: 'write', title: 'Plan', content: 'Ship on Friday.' }],
      ['project', { action: 'save', name: 'demo', create: true, description: 'A demo project.' }],
      ['blueprint', { action: 'save', yaml }],
      ['cluster', { action: 'create', blueprint: 'software-team', id: 'web' }],
      ['task', { action: 'post', cluster: 'web', kind: 'test' }],
    ] as const;
    for (const [name, args] of setup) {
      const made = await client.callTool({ name, arguments: args });
      expect(made.isError, JSON.stringify(made.content)).toBeFalsy();
    }

    const counts = { tried: 0, accepted: 0, refused: 0, internal: 0, changedOnRefusal: 0, crashes: 0 };
    const problems: string[] = [];
    try {
      const { tools } = await client.listTools();
      for (const tool of tools) {
        const actions = app.tools.find((t) => t.name === tool.name)?.actions;
        const args = valid(tool.inputSchema as Schema, tool.name, path.join(dir, 'exports'), actions) as fc.Arbitrary<Record<string, unknown>>;
        await fc.assert(
          fc.asyncProperty(args, async (input) => {
            counts.tried++;
            const before = fingerprint(app.db);
            let result;
            try {
              result = await client.callTool({ name: tool.name, arguments: input });
            } catch (err) {
              // A JSON-RPC error: only "invalid params" is a refusal; anything else is brain failing.
              const code = (err as { code?: number }).code;
              if (code === -32602) {
                counts.refused++;
                const diff = changed(before, fingerprint(app.db));
                if (diff.length) (counts.changedOnRefusal++, problems.push(`${tool.name} changed ${diff.join(', ')} when refused: ${JSON.stringify(input).slice(0, 200)}`));
                return;
              }
              counts.crashes++;
              problems.push(`${tool.name} threw ${String(err)} for ${JSON.stringify(input).slice(0, 200)}`);
              return;
            }
            if (!result.isError) return void counts.accepted++;
            counts.refused++;
            const text = (result.content as { text?: string }[]).map((c) => c.text ?? '').join(' ');
            // RELIABILITY_FUZZ_REFUSALS=1 prints each refusal: to see why the generator's inputs fail.
            if (process.env.RELIABILITY_FUZZ_REFUSALS) console.log(`refused | ${tool.name} | ${text.slice(0, 160)} | ${JSON.stringify(input).slice(0, 200)}`);
            if (/^brain could not complete/.test(text)) (counts.internal++, problems.push(`${tool.name}: ${text.slice(0, 200)} for ${JSON.stringify(input).slice(0, 200)}`));
            const diff = changed(before, fingerprint(app.db));
            if (diff.length) (counts.changedOnRefusal++, problems.push(`${tool.name} changed ${diff.join(', ')} when refused: ${text.slice(0, 120)} for ${JSON.stringify(input).slice(0, 200)}`));
          }),
          { numRuns: RUNS_FOR[tool.name] ?? RUNS, seed: Number(process.env.RELIABILITY_SEED ?? 20261206) },
        );
      }
      // Still answering after all of it (the fuzzed calls may have forgotten "editor"), and still storing.
      const stored = await client.callTool({ name: 'remember', arguments: { key: 'after-fuzz', content: 'Still here after the fuzzed calls.' } });
      expect(stored.isError, JSON.stringify(stored.content)).toBeFalsy();
      const found = await client.callTool({ name: 'recall', arguments: { key: 'after-fuzz' } });
      expect(JSON.stringify(found.structuredContent)).toContain('Still here after the fuzzed calls.');
    } finally {
      await client.close();
      app.close();
    }
    report('fuzzed tool arguments', {
      tools: (await Promise.resolve(app.tools.length)),
      'inputs tried': counts.tried,
      accepted: counts.accepted,
      refused: counts.refused,
      'internal errors': counts.internal,
      'data changed by a refused call': counts.changedOnRefusal,
      crashes: counts.crashes,
    });
    expect(problems).toEqual([]);
  });
});
