// Two brain instances on one host: the sandboxes of one must not reach the other's workspaces,
// whichever of them keeps its workspaces where. Instance A has a 0700 data directory (the sandbox
// user cannot traverse it), instance B a 0755 one (it can); each attacks the other.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectHost, isProblem } from '../src/execution/host.js';
import { LEGACY_WORKSPACES } from '../src/execution/workspaces.js';
import { brainEnv, call, startBrain, tempDir, testConfig, type Connected } from './helpers/brain.js';
import { SANDBOX_LIMITS, sandboxUid, type Exec } from './helpers/sandbox.js';

interface Instance {
  dir: string;
  brain: Connected;
  secret: string;
  /** Every place the instance's workspace of project "shared" might be on the host. */
  candidates: string[];
}

const extra = { ...SANDBOX_LIMITS, BRAIN_SANDBOX_WARM: '0' };

/** The folder earlier brains used for a data directory the sandbox user could not reach. */
function legacyName(executions: string): string {
  return createHash('sha256').update(executions).digest('hex').slice(0, 16);
}
let a: Instance;
let b: Instance;

async function instance(name: string, mode: number): Promise<Instance> {
  const dir = tempDir(`brain-iso-${name}-`);
  fs.chmodSync(dir, mode);
  const config = testConfig(dir, extra);
  const host = detectHost(config);
  if (isProblem(host)) throw new Error(`the sandbox is unavailable on this machine: ${host.reason}; fix: ${host.fix}`);
  const executions = path.resolve(config.executionPath);
  const candidates = [
    path.join(host.workspaceRoot, 'shared'),
    path.join(executions, 'workspaces', 'shared'),
    // Where a brain puts workspaces it cannot give the sandbox user a path to (/srv/brain-workspaces/<hash>).
    path.join(LEGACY_WORKSPACES, legacyName(executions), 'shared'),
  ];
  const secret = `secret-of-${name}-${process.pid}-${Date.now()}`;
  const brain = await startBrain(brainEnv(dir, extra));
  const r = await call<Exec>(brain.client, 'execute', { code: `open('secret.txt', 'w').write(${JSON.stringify(secret)})\nprint('kept')`, project: 'shared' });
  expect(r.stdout).toBe('kept\n');
  return { dir, brain, secret, candidates: [...new Set(candidates)] };
}

/** Code for `attacker` that tries to read the secret from, and plant a file in, every candidate of `victim`. */
function attack(victim: Instance, tag: string): string {
  return `
import os, json
out = {}
for d in ${JSON.stringify(victim.candidates)}:
    try:
        out[d + ' read'] = open(os.path.join(d, 'secret.txt')).read()
    except OSError as e:
        out[d + ' read'] = 'denied'
    try:
        open(os.path.join(d, ${JSON.stringify(tag)}), 'w').write('planted')
        out[d + ' plant'] = 'planted'
    except OSError as e:
        out[d + ' plant'] = 'denied'
    try:
        out[d + ' list'] = ','.join(os.listdir(os.path.dirname(d)))
    except OSError:
        out[d + ' list'] = 'denied'
print(json.dumps(out))`;
}

async function victimSees(victim: Instance): Promise<{ files: string[]; secret: string }> {
  const r = await call<Exec>(victim.brain.client, 'execute', { code: 'import os, json\nprint(json.dumps({"files": sorted(os.listdir(".")), "secret": open("secret.txt").read()}))', project: 'shared' });
  return JSON.parse(r.stdout) as { files: string[]; secret: string };
}

beforeAll(async () => {
  a = await instance('a', 0o700);
  b = await instance('b', 0o755);
});

afterAll(async () => {
  await a?.brain.close();
  await b?.brain.close();
});

describe('two brain instances on one host', () => {
  it("code in one instance can neither read nor plant files in the other's workspace", async () => {
    for (const [attacker, victim] of [
      [b, a],
      [a, b],
    ] as const) {
      const tag = `planted-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const r = await call<Exec>(attacker.brain.client, 'execute', { code: attack(victim, tag), project: 'shared' });
      expect(r.status).toBe('succeeded');
      expect(r.stdout).not.toContain(victim.secret);
      const res = JSON.parse(r.stdout) as Record<string, string>;
      for (const [what, outcome] of Object.entries(res)) {
        if (what.endsWith(' list')) expect(outcome, what).not.toMatch(/shared/);
        else expect(outcome, what).toBe('denied');
      }
      const seen = await victimSees(victim);
      expect(seen.secret).toBe(victim.secret);
      expect(seen.files).not.toContain(tag);
    }
  });
});

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
