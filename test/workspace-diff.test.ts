// The workspace walk that lists created/changed files never follows symlinks, not even a
// directory swapped for a link (the workspace belongs to the sandbox user).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diff, snapshot } from '../worker/workspace-diff.js';
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
