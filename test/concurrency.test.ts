// Claude Desktop starts each stdio server twice, and people run several clients at once: many
// brain processes share one database file. Every acknowledged write must be there afterwards,
// and SQLITE_BUSY must never reach a client.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { brainEnv, startBrain, tempDir, type Connected } from './helpers/brain.js';

const PROCESSES = 3;
const WRITERS = 20;
const WRITES_EACH = 10;

describe('several processes on one database file', () => {
  const dir = tempDir();
  const brains: Connected[] = [];
  afterAll(async () => {
    await Promise.all(brains.map((b) => b.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`${PROCESSES} processes x ${WRITERS} concurrent writers: every acknowledged write is present`, async () => {
    const env = brainEnv(dir);
    // Start them together, as Claude Desktop does: schema creation must not race.
    brains.push(...(await Promise.all(Array.from({ length: PROCESSES }, () => startBrain(env)))));
    const acknowledged = new Map<string, string>();
    const errors: string[] = [];

    await Promise.all(
      brains.flatMap((brain, p) =>
        Array.from({ length: WRITERS }, async (_, w) => {
          for (let i = 0; i < WRITES_EACH; i++) {
            const key = `p${p}-w${w}-i${i}`;
            const content = `write ${i} of writer ${w} in process ${p}: the quick brown fox ${key}`;
            const r = await brain.client.callTool({ name: 'remember', arguments: { key, content, tags: [`p${p}`] } });
            if (r.isError) errors.push(JSON.stringify(r.content));
            else acknowledged.set(key, content);
            // Everyone also updates one shared key: last writer wins, nobody fails.
            const shared = await brain.client.callTool({ name: 'remember', arguments: { key: 'shared', content: `from ${key}` } });
            if (shared.isError) errors.push(JSON.stringify(shared.content));
            if (i % 3 === 0) {
              const found = await brain.client.callTool({ name: 'recall', arguments: { query: 'quick brown fox', limit: 5 } });
              if (found.isError) errors.push(JSON.stringify(found.content));
            }
          }
        }),
      ),
    );

    expect(errors).toEqual([]);
    expect(acknowledged.size).toBe(PROCESSES * WRITERS * WRITES_EACH);
    await Promise.all(brains.splice(0).map((b) => b.close()));

    const db = new Database(path.join(dir, 'brain.db'), { readonly: true });
    const rows = new Map((db.prepare(`SELECT key, content FROM memories WHERE key != 'shared'`).all() as { key: string; content: string }[]).map((r) => [r.key, r.content]));
    const shared = db.prepare(`SELECT version FROM memories WHERE key = 'shared'`).pluck().get() as number;
    const history = db.prepare(`SELECT count(*) FROM memory_history WHERE key = 'shared'`).pluck().get() as number;
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    for (const [key, content] of acknowledged) expect(rows.get(key), key).toBe(content);
    expect(rows.size).toBe(acknowledged.size);
    // Every update of the shared key is a version: none was lost to a race.
    expect(shared).toBe(history + 1);
  }, 180_000);
});
