// Moving between brain and the official memory server, both ways, with the real one: the pinned
// @modelcontextprotocol/server-memory from npm (installed once into a scratch folder under the
// user's cache, so nothing global changes) writes its memory.jsonl through its own tools; brain
// imports it, recall finds each relation from either end, brain export --format=server-memory
// writes it back, and the real server loads that file and reads the same graph with read_graph.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { brainEnv, call, CLI, startBrain, tempDir } from './helpers/brain.js';

const PACKAGE = '@modelcontextprotocol/server-memory@2026.8.31';
/** npm failures that mean "no way to download", the only reason this test may skip. */
const OFFLINE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network request|request to .* failed)\b/;

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'brain-tests', `server-memory-${PACKAGE.split('@').pop()}`);
}

/** The server's entry point, installed on first use into a folder beside the cache one, renamed when complete. */
function installServer(): { main: string } | { offline: string } {
  const dir = cacheDir();
  const main = path.join(dir, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js');
  if (!fs.existsSync(main)) {
    const work = `${dir}.install-${process.pid}`;
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, 'package.json'), '{ "private": true }\n');
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', PACKAGE], { cwd: work, encoding: 'utf8', timeout: 10 * 60_000 });
    if (npm.status !== 0) {
      fs.rmSync(work, { recursive: true, force: true });
      const out = `${npm.stdout ?? ''}${npm.stderr ?? ''}${npm.error?.message ?? ''}`;
      if (OFFLINE.test(out)) return { offline: out.split('\n').find((l) => OFFLINE.test(l))!.replace(/^npm error /, '').trim() };
      throw new Error(`npm install ${PACKAGE} failed (exit ${npm.status}):\n${out}`);
    }
    try {
      fs.renameSync(work, dir);
    } catch {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  return { main };
}

interface Graph {
  entities: { name: string; entityType: string; observations: string[] }[];
  relations: { from: string; to: string; relationType: string }[];
}

/** Runs the real server on `file` for the calls in `work`. */
async function withServer<T>(main: string, file: string, work: (client: Client) => Promise<T>): Promise<T> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [main], env: { PATH: process.env.PATH ?? '', MEMORY_FILE_PATH: file }, stderr: 'pipe' });
  const client = new Client({ name: 'brain-server-memory-test', version: '1' });
  await client.connect(transport);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

async function tool<T>(client: Client, name: string, args: Record<string, unknown> = {}): Promise<T> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

/** A graph in an order that does not depend on who wrote it. */
function sorted(g: Graph): Graph {
  return {
    entities: [...g.entities].sort((a, b) => a.name.localeCompare(b.name)),
    relations: [...g.relations].sort((a, b) => `${a.from} ${a.relationType} ${a.to}`.localeCompare(`${b.from} ${b.relationType} ${b.to}`)),
  };
}

const brain = (env: Record<string, string>, args: string[]) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });

let installed: { main: string } | { offline: string };
beforeAll(() => {
  installed = installServer();
}, 11 * 60_000);

describe('@modelcontextprotocol/server-memory, the real one', () => {
  it('its memory.jsonl imports with relations findable from both ends, and brain exports a file it loads back', { timeout: 180_000 }, async (ctx) => {
    if ('offline' in installed) {
      // As in the conformance test: skipped only on a machine declared offline.
      if (process.env.BRAIN_TESTS_OFFLINE !== '1') throw new Error(`npm cannot download ${PACKAGE}: ${installed.offline}; set BRAIN_TESTS_OFFLINE=1 to skip this test on an offline machine`);
      return ctx.skip(`BRAIN_TESTS_OFFLINE=1: npm cannot download ${PACKAGE}`);
    }
    const { main } = installed;
    const dir = tempDir('brain-server-memory-');
    const original = path.join(dir, 'memory.jsonl');

    // A graph as a server-memory user builds it, through the server's own tools.
    const written = await withServer(main, original, async (c) => {
      await tool(c, 'create_entities', {
        entities: [
          { name: 'John_Smith', entityType: 'person', observations: ['Speaks fluent Spanish', 'Graduated in 2019'] },
          { name: 'Anthropic', entityType: 'organization', observations: ['Builds Claude'] },
          { name: 'Jane_Doe', entityType: 'person', observations: [] },
          { name: 'Lisbon', entityType: 'city', observations: ['Capital of Portugal', 'Hilly, with trams'] },
        ],
      });
      await tool(c, 'create_relations', {
        relations: [
          { from: 'John_Smith', to: 'Anthropic', relationType: 'works_at' },
          { from: 'Jane_Doe', to: 'Anthropic', relationType: 'works_at' },
          { from: 'John_Smith', to: 'Jane_Doe', relationType: 'mentors' },
          { from: 'Jane_Doe', to: 'Lisbon', relationType: 'lives in' },
        ],
      });
      await tool(c, 'add_observations', { observations: [{ entityName: 'Jane_Doe', contents: ['Prefers morning meetings'] }] });
      return tool<Graph>(c, 'read_graph');
    });
    expect(fs.readFileSync(original, 'utf8')).toMatch(/^\{"type":"entity","name":"John_Smith"/);

    const env = brainEnv(path.join(dir, 'brain'));
    const imported = brain(env, ['import', '--json', original]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ format: 'server-memory', created: 4, errors: [] });

    const s = await startBrain(env);
    try {
      type Out = { results: { id: number; key: string; content: string; relations?: { type: string; to?: string; from?: string; id?: number }[]; via?: string }[] };
      const anthropic = (await call<Out>(s.client, 'recall', { key: 'Anthropic' })).results[0];
      // Who works there: the relation seen from its target end.
      expect(anthropic.relations?.map((r) => `${r.from} ${r.type}`)).toEqual(['Jane_Doe works_at', 'John_Smith works_at']);
      const john = (await call<Out>(s.client, 'recall', { key: 'John_Smith' })).results[0];
      expect(john.content).toBe('John_Smith (person)\n- Speaks fluent Spanish\n- Graduated in 2019');
      expect(john.relations?.map((r) => `${r.type} ${r.to}`)).toEqual(['mentors Jane_Doe', 'works_at Anthropic']);
      const jane = (await call<Out>(s.client, 'recall', { key: 'Jane_Doe' })).results[0];
      expect(jane.relations?.map((r) => (r.to ? `-> ${r.type} ${r.to}` : `<- ${r.from} ${r.type}`))).toEqual(['-> lives in Lisbon', '-> works_at Anthropic', '<- John_Smith mentors']);
      // One step out from Lisbon reaches Jane, not John (two steps).
      const around = (await call<Out>(s.client, 'recall', { key: 'Lisbon', related: true })).results;
      expect(around.map((m) => [m.key, m.via])).toEqual([['Lisbon', undefined], ['Jane_Doe', 'Jane_Doe lives in Lisbon']]);
      // A search by words finds the observations.
      expect((await call<Out>(s.client, 'recall', { query: 'spanish' })).results[0].key).toBe('John_Smith');
      // Relations made in brain go out too.
      await call(s.client, 'remember', { key: 'Lisbon', relations: [{ type: 'capital_of', to: 'Portugal' }] });
    } finally {
      await s.close();
    }

    const exportedFile = path.join(dir, 'exported', 'memory.jsonl');
    fs.mkdirSync(path.dirname(exportedFile));
    const exported = brain(env, ['export', '--format=server-memory', '--json', exportedFile]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ format: 'server-memory', records: 9 });
    // The other spelling of the option works the same.
    const viaSpace = brain(env, ['export', '--format', 'server-memory']);
    expect(viaSpace.stdout.trim()).toBe(fs.readFileSync(exportedFile, 'utf8').trim());

    const readBack = await withServer(main, exportedFile, (c) => tool<Graph>(c, 'read_graph'));
    const expected = sorted(written);
    expected.relations.push({ from: 'Lisbon', to: 'Portugal', relationType: 'capital_of' });
    expect(sorted(readBack)).toEqual(sorted(expected));
    // And the server keeps working on it: its own search finds an imported observation.
    const found = await withServer(main, exportedFile, (c) => tool<Graph>(c, 'search_nodes', { query: 'trams' }));
    expect(found.entities.map((e) => e.name)).toEqual(['Lisbon']);
  });
});
