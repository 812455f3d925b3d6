// The executions table and the small-answer helpers, without a sandbox: filters, orphans left by
// a dead brain, retention of rows and output files, head/tail inlining and paging.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { toDbTime } from '../src/core/db.js';
import { inline, readPage } from '../src/execution/output.js';
import { failOrphans, finishExecution, insertExecution, listExecutions } from '../src/execution/store.js';
import { tempDir, testConfig } from './helpers/brain.js';

let dir: string;
let app: App | undefined;

afterEach(() => {
  app?.close();
  app = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(): App {
  dir = tempDir();
  return (app = createApp(testConfig(dir)));
}

const base = { sessionId: null, language: 'python', code: 'print(1)', timeoutMs: 1000 } as const;

describe('executions store', () => {
  it('lists newest first, filtered by project, status and time, and pages with before_id', () => {
    const { db } = open();
    const a = insertExecution(db, { ...base, project: 'a', status: 'queued' });
    finishExecution(db, a, { status: 'succeeded', exitCode: 0 });
    const b = insertExecution(db, { ...base, project: 'b', status: 'queued' });
    finishExecution(db, b, { status: 'timeout' });
    const c = insertExecution(db, { ...base, project: '', status: 'rejected', error: 'execution queue is full' });
    expect(listExecutions(db, { limit: 10 }).map((r) => r.id)).toEqual([c, b, a]);
    expect(listExecutions(db, { projects: ['a', ''], limit: 10 }).map((r) => r.id)).toEqual([c, a]);
    expect(listExecutions(db, { status: 'timeout', limit: 10 }).map((r) => r.id)).toEqual([b]);
    expect(listExecutions(db, { since: toDbTime(Date.now() + 60_000), limit: 10 })).toEqual([]);
    expect(listExecutions(db, { beforeId: c, limit: 1 }).map((r) => r.id)).toEqual([b]);
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM executions WHERE status = ? AND created_at >= ? ORDER BY id DESC').all('x', 'y') as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING INDEX executions_status/);
  });

  it('rows a dead brain left queued or running are marked failed; this process\'s stay', () => {
    const { db } = open();
    const mine = insertExecution(db, { ...base, project: '', status: 'queued' });
    const dead = insertExecution(db, { ...base, project: '', status: 'queued' });
    db.prepare('UPDATE executions SET host_pid = 999999999, status = ? WHERE id = ?').run('running', dead);
    expect(failOrphans(db, () => false)).toBe(1);
    const rows = Object.fromEntries(listExecutions(db, { limit: 10 }).map((r) => [r.id, r]));
    expect(rows[dead]).toMatchObject({ status: 'failed', error: 'brain stopped before this execution finished' });
    expect(rows[mine].status).toBe('queued');
  });

  it('purge removes old rows and their stored output, keeps recent ones', () => {
    const a = open();
    const old = insertExecution(a.db, { ...base, project: '', status: 'queued' });
    const recent = insertExecution(a.db, { ...base, project: '', status: 'queued' });
    a.db.prepare('UPDATE executions SET created_at = ? WHERE id = ?').run(toDbTime(Date.now() - 40 * 86_400_000), old);
    const outputs = path.join(a.config.executionPath, 'outputs');
    fs.mkdirSync(outputs, { recursive: true });
    for (const id of [old, recent]) fs.writeFileSync(path.join(outputs, `${id}.stdout`), 'x');
    expect(a.executions.purge(30)).toBe(1);
    expect(a.executions.get(old)).toBeUndefined();
    expect(a.executions.get(recent)).toBeDefined();
    expect(fs.existsSync(path.join(outputs, `${old}.stdout`))).toBe(false);
    expect(fs.existsSync(path.join(outputs, `${recent}.stdout`))).toBe(true);
  });
});

describe('small answers', () => {
  it('inline keeps head and tail and says how to page the middle', () => {
    expect(inline('all of it', '', 9, 1, 'stdout')).toBe('all of it');
    const text = inline('HEAD', 'TAIL', 1000, 7, 'stderr');
    expect(text).toMatch(/^HEAD\n…\[992 bytes omitted; read them with executions \{"id": 7, "stream": "stderr", "offset": 4\}\]…\nTAIL$/);
  });

  it('readPage returns byte ranges with the next offset', () => {
    dir = tempDir();
    const file = path.join(dir, 'out');
    fs.writeFileSync(file, 'abcdefghij');
    expect(readPage(file, 0, 4)).toEqual({ text: 'abcd', offset: 0, length: 4, total: 10, next_offset: 4 });
    expect(readPage(file, 8, 4)).toEqual({ text: 'ij', offset: 8, length: 2, total: 10 });
    expect(readPage(path.join(dir, 'missing'), 0, 4)).toMatchObject({ text: '', total: 0 });
  });
});
