// Workspaces from earlier versions: brains used to keep the workspaces of a data directory the
// sandbox user could not reach in /srv/brain-workspaces/<hash>; a brain moves its own into place
// and removes folders whose data directory is gone. The attack of two instances on each other's
// workspaces is in test/reliability/two-instances.test.ts.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEGACY_WORKSPACES } from '../src/execution/workspaces.js';
import { brainEnv, call, startBrain, tempDir } from './helpers/brain.js';
import { SANDBOX_LIMITS, sandboxUid, type Exec } from './helpers/sandbox.js';

const extra = { ...SANDBOX_LIMITS, BRAIN_SANDBOX_WARM: '0' };

/** The folder earlier brains used for a data directory the sandbox user could not reach. */
function legacyName(executions: string): string {
  return createHash('sha256').update(executions).digest('hex').slice(0, 16);
}

describe('workspaces from earlier versions', () => {
  it('move out of the shared /srv/brain-workspaces into place; folders of vanished data directories go', async () => {
    if (process.getuid?.() !== 0) return; // only root brains ever used it
    const dir = tempDir();
    const executions = path.resolve(dir, 'executions');
    const mine = path.join(LEGACY_WORKSPACES, legacyName(executions));
    const orphan = path.join(LEGACY_WORKSPACES, `test-orphan-${process.pid}`);
    const unowned = path.join(LEGACY_WORKSPACES, `test-unowned-${process.pid}`);
    // The data directory exists, as it did for the brain that made the folder (other brains
    // starting meanwhile remove folders whose data directory is gone).
    for (const d of [executions, path.join(mine, 'old-proj'), path.join(orphan, 'p'), path.join(unowned, 'p')]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(mine, '.owner'), executions);
    fs.writeFileSync(path.join(orphan, '.owner'), path.join(dir, 'gone', 'executions'));
    fs.writeFileSync(path.join(mine, 'old-proj', 'kept.txt'), 'from before');
    // As code in the sandbox left them: the sandbox user's (root's file would be 0600 under the
    // service's UMask=0077, which scripts/check-service-sandbox.sh runs this under).
    for (const f of ['', 'kept.txt']) fs.chownSync(path.join(mine, 'old-proj', f), sandboxUid(), sandboxUid());
    const brain = await startBrain(brainEnv(dir, extra));
    try {
      const r = await call<Exec>(brain.client, 'execute', { code: 'print(open("kept.txt").read())', project: 'old-proj' });
      expect(r).toMatchObject({ status: 'succeeded', stdout: 'from before\n' });
      expect(fs.existsSync(mine)).toBe(false);
      expect(fs.existsSync(orphan)).toBe(false);
      expect(fs.existsSync(unowned)).toBe(true);
    } finally {
      await brain.close();
      for (const d of [mine, orphan, unowned]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
