// scripts/lint.mjs keeps the areas' insides: it passes a tree that follows the layout rules,
// and fails, naming the file and line, on each kind of import the rules forbid.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/brain.js';

const LINT = path.join(ROOT, 'scripts', 'lint.mjs');

function lint(root: string): { status: number | null; problems: string[]; stdout: string } {
  const r = spawnSync(process.execPath, [LINT, root], { encoding: 'utf8' });
  return { status: r.status, problems: r.stderr.split('\n').filter(Boolean), stdout: r.stdout };
}

function write(root: string, files: Record<string, string>) {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

function append(root: string, rel: string, line: string): number {
  const file = path.join(root, rel);
  const before = fs.readFileSync(file, 'utf8');
  const text = before.endsWith('\n') ? before : before + '\n';
  fs.writeFileSync(file, text + line + '\n');
  return text.split('\n').length; // the 1-based line the new text is on
}

/** A small tree that uses every import the rules allow, each exception included. */
const CLEAN: Record<string, string> = {
  'src/app.ts': [
    "import { createMemoryService } from './memory/service.js';",
    "import { hotRows } from './memory/store.js';",
    "import { sessionTools } from './sessions/tools.js';",
    'export const createApp = () => [createMemoryService, hotRows, sessionTools];',
  ].join('\n'),
  'src/cli.ts': ["import { createApp } from './app.js';", "import { serve } from './daemon/serve.js';", "import { run } from './cli/backup.js';", 'createApp(); serve(); run();'].join('\n'),
  // The command line's own modules compose like cli.ts: the app, an area's insides, stdout.
  'src/cli/backup.ts': [
    "import { createApp } from '../app.js';",
    "import { tasks } from '../ops/maintenance.js';",
    "import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';",
    'export const run = () => process.stdout.write(String([createApp, tasks, StdioServerTransport]));',
  ].join('\n'),
  'src/doctor.ts': "import type { Config } from './core/config.js';\nexport interface Check { config: Config }\n",
  'src/core/config.ts': "import fs from 'node:fs';\nimport { words } from '../text/words.js';\nexport type Config = { words: typeof words; fs: typeof fs };\n",
  'src/core/server.ts': "import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';\nexport const S = McpServer;\n",
  'src/text/words.ts': "import { stemmer } from 'stemmer';\nimport { quote } from './quote.js';\nexport const words = (s: string) => quote(stemmer(s));\n",
  'src/text/quote.ts': 'export const quote = (s: string) => `"${s}"`;\n',
  'src/memory/types.ts': 'export interface MemoryRow { id: number }\n',
  'src/memory/store.ts': "import type Database from 'better-sqlite3';\nimport { words } from '../text/words.js';\nexport const hotRows = (db: Database.Database) => [db, words];\n",
  'src/memory/service.ts': "import * as store from './store.js';\nexport const createMemoryService = () => store;\nexport type MemoryService = typeof store;\n",
  'src/sessions/types.ts': 'export interface InitSection { name: string }\n',
  'src/sessions/tools.ts': [
    "import type { MemoryService } from '../memory/service.js';",
    "import type { MemoryRow } from '../memory/types.js';",
    "import type { InitSection } from './types.js';",
    'export const sessionTools = (m: MemoryService, r: MemoryRow, s: InitSection) => [m, r, s];',
  ].join('\n'),
  'src/notes/init-section.ts': [
    "import type { InitSection } from '../sessions/types.js';",
    'import {',
    '  type MemoryService,',
    "} from '../memory/service.js';",
    "// Not an import: from '../memory/store.js'",
    "const example = \"import { hotRows } from '../memory/store.js'\";",
    // A quick scan (ts.preProcessFile) loses its place here and misses every import below.
    'export const phrase = (t: string) => `"${t.replace(/"/g, \'""\')}"*`;',
    'export const section = (s: InitSection, m: MemoryService) => [s, m, example];',
  ].join('\n'),
  'src/ops/maintenance.ts': "import type { MemoryService } from '../memory/service.js';\nexport const tasks = (m: MemoryService) => [m];\n",
  'src/daemon/serve.ts': [
    "import { createApp } from '../app.js';",
    "import { tasks } from '../ops/maintenance.js';",
    'export async function serve() {',
    "  const { tasks: again } = await import('../ops/maintenance.js');",
    '  return [createApp, tasks, again];',
    '}',
  ].join('\n'),
  'src/execution/doctor.ts': "import type { Check } from '../doctor.js';\nimport { run } from '../../worker/sandbox.js';\nexport const check = (c: Check) => [c, run];\n",
  'worker/sandbox.ts': 'export const run = () => 0;\n',
};

describe('scripts/lint.mjs', () => {
  it('passes a tree whose areas meet only through service.ts and types.ts', () => {
    const root = tempDir('brain-lint-');
    write(root, CLEAN);
    const r = lint(root);
    expect(r.problems).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/lint: ok/);
  });

  it('fails on every forbidden import, naming the file and line of each', () => {
    const root = tempDir('brain-lint-');
    write(root, CLEAN);
    const planted: [string, number, RegExp][] = [];
    const plant = (rel: string, line: string, rule: RegExp) => planted.push([rel, append(root, rel, line), rule]);
    const AREA = /an area uses another area only through its service\.ts and types\.ts/;
    plant('src/notes/init-section.ts', "import { hotRows } from '../memory/store.js';", AREA);
    plant('src/sessions/tools.ts', "import type { section } from '../notes/init-section.js';", AREA);
    plant('src/memory/service.ts', "export { tasks } from '../ops/maintenance.js';", AREA);
    plant('src/memory/types.ts', "export const later = () => import('../sessions/tools.js');", AREA);
    // The daemon may reach into ops, not the other way round.
    plant('src/ops/maintenance.ts', "import { serve } from '../daemon/serve.js';", AREA);
    plant('src/core/server.ts', "import type { MemoryService } from '../memory/service.js';", /src\/core knows no area/);
    plant('src/core/config.ts', "import { createApp } from '../app.js';", /src\/core knows no area/);
    plant('src/memory/store.ts', "import { createApp } from '../app.js';", /imports src\/app\.ts: only what runs the composed app/);
    plant('src/ops/maintenance.ts', "import type { createApp } from '../app.js';", /imports src\/app\.ts/);
    plant('src/daemon/serve.ts', "import '../cli.js';", /imports src\/cli\.ts, the entry point/);
    plant('src/memory/service.ts', "import { run } from '../cli/backup.js';", /imports src\/cli\/backup\.ts: only the command line/);
    plant('src/ops/maintenance.ts', "export const say = () => process.stdout.write('x');", /writes to stdout/);
    plant('src/text/quote.ts', "import type { Config } from '../core/config.js';", /src\/text imports nothing but src\/text/);
    plant('src/text/words.ts', "import Database from 'better-sqlite3';", /src\/text is database-free/);

    const r = lint(root);
    expect(r.status).toBe(1);
    for (const [rel, line, rule] of planted) {
      const found = r.problems.filter((p) => p.startsWith(`${rel}:${line}: `));
      expect(found, `${rel}:${line}`).toHaveLength(1);
      expect(found[0]).toMatch(rule);
    }
    expect(r.problems).toHaveLength(planted.length);
  });

  it('on a copy of the real tree, reports each planted cross-area, core-to-area and area-to-app import on top of what it reports already', () => {
    const root = tempDir('brain-lint-');
    fs.cpSync(path.join(ROOT, 'src'), path.join(root, 'src'), { recursive: true });
    // What the tree reports as it is: nothing, once every area keeps to the rules.
    const before = lint(root);
    if (before.problems.length === 0) expect(before.status).toBe(0);
    const planted = [
      `src/notes/service.ts:${append(root, 'src/notes/service.ts', "import { getRow } from '../memory/store.js';")}: imports src/memory/store.ts`,
      `src/core/scope.ts:${append(root, 'src/core/scope.ts', "import type { MemoryService } from '../memory/service.js';")}: imports src/memory/service.ts`,
      `src/events/service.ts:${append(root, 'src/events/service.ts', "import type { App } from '../app.js';")}: imports src/app.ts`,
    ];
    const after = lint(root);
    expect(after.status).toBe(1);
    const added = after.problems.filter((p) => !before.problems.includes(p));
    expect(added).toHaveLength(planted.length);
    for (const start of planted) expect(added.filter((p) => p.startsWith(start)), start).toHaveLength(1);
  });
});

describe('types', () => {
  // vitest strips types without checking them, and `npm run build` compiles src, worker and bench
  // only: a test that passes the wrong shape to a helper would otherwise run on unnoticed.
  it('the source, benchmarks and tests type-check (tsconfig.test.json)', { timeout: 180_000 }, () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.test.json')], { encoding: 'utf8', cwd: ROOT });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
