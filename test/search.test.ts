// The combined search ranks memories and notes on one scale: a query best answered by a note
// ranks that note first, one best answered by a memory ranks the memory first (the relevance
// set's combined cases, bench/relevance.ts), whichever engine ranks the memories.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMBINED_CASES, NEEDLES, NOTE_NEEDLES } from '../bench/relevance.js';
import { createApp, type App } from '../src/app.js';
import { silentLogger } from '../src/core/logger.js';
import type { AnyTool, SessionState, ToolContext } from '../src/core/tool.js';
import { indexReady, tempDir, testConfig } from './helpers/brain.js';

interface Result {
  kind: 'memory' | 'note';
  title: string;
  score: number;
}

let dir: string;
let app: App;
const session: SessionState = { id: null, project: '' };
const ctx = (): ToolContext => ({ session, signal: new AbortController().signal, progress: async () => {}, logger: silentLogger() });

async function run<T>(name: string, args: Record<string, unknown>): Promise<T> {
  const tool = app.tools.find((t: AnyTool) => t.name === name)!;
  return (await tool.handle(z.strictObject(tool.input).parse(args), ctx())) as T;
}

async function open(extra: Record<string, string>) {
  dir = tempDir();
  app = createApp(testConfig(dir, { BRAIN_NOTES_WATCH: 'false', BRAIN_NOTES_POLL_MS: '0', ...extra }));
  for (const n of NEEDLES) await run('remember', { key: n.key, content: n.content, type: n.type ?? 'general', tags: n.tags ?? [] });
  for (const n of NOTE_NEEDLES) await run('note', { action: 'write', title: n.title, content: n.content, tags: n.tags });
}

afterEach(() => {
  app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const search = (query: string, extra: Record<string, unknown> = {}) => run<{ results: Result[] }>('search', { query, ...extra }).then((r) => r.results);

describe.each([
  ['the in-process index', 'true'],
  ['FTS5', 'false'],
])('search with memories ranked by %s', (_, recallIndex) => {
  it('ranks first the memory or note that answers each combined case, with the other kind in the list too', async () => {
    await open({ BRAIN_RECALL_INDEX: recallIndex });
    if (recallIndex === 'true') await indexReady(app);
    for (const c of COMBINED_CASES) {
      const results = await search(c.query);
      expect(results[0], c.query).toMatchObject(c.first);
      const other = c.first.kind === 'note' ? 'memory' : 'note';
      expect(results.some((r) => r.kind === other), `${c.query}: no ${other} competed`).toBe(true);
      for (let i = 1; i < results.length; i++) expect(results[i].score).toBeLessThanOrEqual(results[i - 1].score);
    }
  });
});
