// The workspace quota: sandboxed code that writes past BRAIN_WORKSPACE_QUOTA_MB or creates more
// than BRAIN_WORKSPACE_MAX_FILES files is stopped with a sentence naming the limit, the workspace
// stays within it, and brain's own writes keep working.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brainEnv, call, startBrain, tempDir, type Connected } from './helpers/brain.js';
import { SANDBOX_LIMITS, sandboxUid, type Exec } from './helpers/sandbox.js';

let brain: Connected;
const QUOTA_MB = 16;
const MAX_FILES = 300;

type Result = Exec & { note?: string };

/** Bytes and entries under the workspace, measured from inside it. */
const USAGE = `
import os
b = n = 0
for root, dirs, files in os.walk('.'):
    for x in dirs + files:
        n += 1
        try:
            b += os.lstat(os.path.join(root, x)).st_size
        except OSError:
            pass
print(b, n)`;

async function usage(project: string): Promise<{ bytes: number; entries: number }> {
  const r = await call<Result>(brain.client, 'execute', { code: USAGE, project });
  const [bytes, entries] = r.stdout.trim().split(' ').map(Number);
  return { bytes, entries };
}

beforeAll(async () => {
  const dir = tempDir();
  brain = await startBrain(brainEnv(dir, { ...SANDBOX_LIMITS, BRAIN_SANDBOX_WARM: '0', BRAIN_WORKSPACE_QUOTA_MB: String(QUOTA_MB), BRAIN_WORKSPACE_MAX_FILES: String(MAX_FILES), BRAIN_MAX_EXECUTION_TIME_MS: '20000' }));
});

afterAll(async () => {
  await brain?.close();
});

describe('workspace quota', () => {
  it('execute: as root a new workspace is a filesystem that offers the quota, in bytes and files', async () => {
    if (process.getuid?.() !== 0) return; // without root the quota is a check brain makes while code runs
    const r = await call<Result>(brain.client, 'execute', { code: 'import os\ns = os.statvfs(".")\nprint(s.f_bavail * s.f_frsize, s.f_favail, len(os.listdir(".")))', project: 'fresh' });
    const [bytes, files, present] = r.stdout.trim().split(' ').map(Number);
    expect(Math.abs(bytes - QUOTA_MB * 1024 * 1024)).toBeLessThan(512 * 1024);
    expect(files + present).toBeGreaterThanOrEqual(MAX_FILES - 16);
    expect(files + present).toBeLessThanOrEqual(MAX_FILES + 16);
  });

  it('execute: writing past the byte quota is stopped, the workspace stays within it, remember still works', async () => {
    // 1 MB files (well under the per-file limit), errors ignored, forever: only brain can stop it
    // before the 20 s time limit.
    const r = await call<Result>(brain.client, 'execute', {
      code: 'import os\nos.makedirs("fill", exist_ok=True)\ni = 0\nwhile True:\n    try:\n        open("fill/%d" % i, "wb").write(b"x" * (1 << 20))\n    except OSError:\n        pass\n    i += 1',
      project: 'bytes',
    });
    expect(r.status).toBe('failed');
    expect(r.note).toMatch(new RegExp(`quota of ${QUOTA_MB} MB`));
    expect(r.note).toMatch(/BRAIN_WORKSPACE_QUOTA_MB/);
    const used = await usage('bytes');
    expect(used.bytes).toBeLessThanOrEqual(QUOTA_MB * 1.05 * 1024 * 1024);
    await call(brain.client, 'remember', { key: 'after-fill', content: 'brain still writes after a full workspace' });
    const found = await call<{ results: { key: string }[] }>(brain.client, 'recall', { key: 'after-fill' });
    expect(found.results[0].key).toBe('after-fill');
    // Deleting files frees the quota again.
    const freed = await call<Result>(brain.client, 'execute', { code: 'import shutil\nshutil.rmtree("fill")\nopen("small", "wb").write(b"y" * 4096)\nprint("ok")', project: 'bytes' });
    expect(freed).toMatchObject({ status: 'succeeded', stdout: 'ok\n' });
  });

  it('execute: creating more files than the file quota is stopped with a sentence naming it', async () => {
    const r = await call<Result>(brain.client, 'execute', {
      code: 'i = 0\nwhile True:\n    try:\n        open("f%d" % i, "w").close()\n    except OSError:\n        pass\n    i += 1',
      project: 'files',
    });
    expect(r.status).toBe('failed');
    expect(r.note).toMatch(new RegExp(`${MAX_FILES} files`));
    expect(r.note).toMatch(/BRAIN_WORKSPACE_MAX_FILES/);
    expect((await usage('files')).entries).toBeLessThanOrEqual(MAX_FILES);
    await call(brain.client, 'remember', { key: 'after-files', content: 'still writable' });
  });
});

describe('workspace limits over time', () => {
  it('execute: files of a workspace from before move into its filesystem, and a raised quota applies to it after a restart', async () => {
    if (process.getuid?.() !== 0) return; // only root brains make filesystems
    const dir = tempDir();
    // A plain workspace directory as earlier versions left it.
    const plain = path.join(dir, 'executions', 'workspaces', 'grow');
    fs.mkdirSync(plain, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(plain, 'kept.txt'), 'from before');
    fs.chownSync(plain, sandboxUid(), sandboxUid());
    const statvfs = 'import os\ns = os.statvfs(".")\nprint(open("kept.txt").read().split()[0], s.f_bavail * s.f_frsize // (1 << 20))';
    for (const [quota, expected] of [['16', 16], ['32', 32]] as const) {
      const b = await startBrain(brainEnv(dir, { ...SANDBOX_LIMITS, BRAIN_SANDBOX_WARM: '0', BRAIN_WORKSPACE_QUOTA_MB: quota }));
      try {
        const r = await call<Result>(b.client, 'execute', { code: statvfs, project: 'grow' });
        const [text, mb] = r.stdout.trim().split(' ');
        expect(text).toBe('from');
        expect(Math.abs(Number(mb) - expected)).toBeLessThanOrEqual(1);
      } finally {
        await b.close();
      }
    }
  });
});
