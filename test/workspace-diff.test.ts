// The workspace walk that lists created/changed files never follows symlinks, not even a
// directory swapped for a link (the workspace belongs to the sandbox user).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workspaceAtLimit } from '../worker/quota-watch.js';
import { diff, displayName, snapshot, usage } from '../worker/workspace-diff.js';
import { tempDir } from './helpers/brain.js';

let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('workspace diff', () => {
  it('lists created and modified files, nested; skips symlinks to files and directories', () => {
    dir = tempDir();
    const ws = path.join(dir, 'ws');
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    fs.writeFileSync(path.join(ws, 'kept.txt'), 'a');
    fs.writeFileSync(path.join(ws, 'changed.txt'), 'a');
    const before = snapshot(ws);
    fs.writeFileSync(path.join(ws, 'changed.txt'), 'abc');
    fs.writeFileSync(path.join(ws, 'sub', 'new.csv'), '1,2');
    fs.symlinkSync(outside, path.join(ws, 'link-dir'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'link-file'));
    // A directory replaced by a symlink to somewhere else.
    fs.rmSync(path.join(ws, 'sub'), { recursive: true });
    fs.symlinkSync(outside, path.join(ws, 'sub'));
    const after = snapshot(ws);
    expect([...after.keys()].sort()).toEqual(['changed.txt', 'kept.txt']);
    expect(diff(before, after)).toEqual([{ path: 'changed.txt', size: 3, change: 'modified' }]);
    fs.rmSync(path.join(ws, 'sub'));
    fs.mkdirSync(path.join(ws, 'sub'));
    fs.writeFileSync(path.join(ws, 'sub', 'new.csv'), '1,2');
    expect(diff(before, snapshot(ws))).toEqual([
      { path: 'changed.txt', size: 3, change: 'modified' },
      { path: 'sub/new.csv', size: 3, change: 'created' },
    ]);
  });

  it('a workspace that is itself a symlink is not walked', () => {
    dir = tempDir();
    fs.mkdirSync(path.join(dir, 'real'));
    fs.writeFileSync(path.join(dir, 'real', 'x'), 'x');
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'ws'));
    expect(snapshot(path.join(dir, 'ws')).size).toBe(0);
  });
});

describe('file names and usage', () => {
  it('names that are not UTF-8 are listed escaped, and never collide with a name that looks the same', () => {
    dir = tempDir();
    const ws = path.join(dir, 'ws');
    fs.mkdirSync(ws);
    const before = snapshot(ws);
    fs.writeFileSync(Buffer.from(`${ws}/caf\xe9.txt`, 'latin1'), 'abc');
    fs.writeFileSync(path.join(ws, 'caf\\xe9.txt'), 'x');
    fs.writeFileSync(path.join(ws, 'café.txt'), 'xy');
    // A valid name is shown as it is, backslash and all; only the escaped flag tells them apart.
    const changed = diff(before, snapshot(ws));
    expect(changed).toHaveLength(3);
    expect(changed).toEqual(
      expect.arrayContaining([
        { path: 'caf\\xe9.txt', size: 1, change: 'created' },
        { path: 'caf\\xe9.txt', size: 3, change: 'created', escaped: true },
        { path: 'café.txt', size: 2, change: 'created' },
      ]),
    );
    expect(displayName(Buffer.from([0x61, 0x5c, 0xff, 0xe2, 0x82, 0xac, 0xe2, 0x82]))).toEqual({ path: 'a\\\\\\xff€\\xe2\\x82', escaped: true });
  });

  it('usage counts allocated bytes and entries and stops past a limit (the check used without root)', () => {
    dir = tempDir();
    const ws = path.join(dir, 'ws');
    fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'sub', 'big'), Buffer.alloc(1 << 20, 1));
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(ws, `f${i}`), 'x');
    const u = usage(ws, 1e9, 1e9);
    expect(u.entries).toBe(7);
    expect(u.bytes).toBeGreaterThanOrEqual(1 << 20);
    expect(workspaceAtLimit({ view: ws, bytes: 2 << 20, files: 100, how: 'walk' })).toBeUndefined();
    expect(workspaceAtLimit({ view: ws, bytes: 512 * 1024, files: 100, how: 'walk' })).toBe('bytes');
    expect(workspaceAtLimit({ view: ws, bytes: 2 << 20, files: 6, how: 'walk' })).toBe('files');
  });
});
