// Two brain instances on one host attack each other: code run in one instance's sandbox tries to
// read a secret from, plant a file in, and list every place the other's workspace might be,
// whichever of them keeps its workspaces where. Instance A has a 0700 data directory (the sandbox
// user cannot traverse it), instance B a 0755 one (it can); each attacks the other.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectHost, isProblem } from '../../src/execution/host.js';
import { LEGACY_WORKSPACES } from '../../src/execution/workspaces.js';
import { brainEnv, call, startBrain, tempDir, testConfig, type Connected } from '../helpers/brain.js';
import { SANDBOX_LIMITS, type Exec } from '../helpers/sandbox.js';
import { report } from './figures.js';

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
    const tried = { reads: 0, plants: 0, listings: 0 };
    const got = { secrets: 0, planted: 0, listed: 0 };
    /** What got through, for the failure message. */
    const breaches: string[] = [];
    for (const [attacker, victim] of [
      [b, a],
      [a, b],
    ] as const) {
      const tag = `planted-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const r = await call<Exec>(attacker.brain.client, 'execute', { code: attack(victim, tag), project: 'shared' });
      expect(r.status).toBe('succeeded');
      if (r.stdout.includes(victim.secret)) breaches.push(`the output of the attack holds the secret of ${victim.dir}`);
      const res = JSON.parse(r.stdout) as Record<string, string>;
      for (const [what, outcome] of Object.entries(res)) {
        const kind = what.endsWith(' list') ? 'listings' : what.endsWith(' read') ? 'reads' : 'plants';
        tried[kind]++;
        const through = kind === 'listings' ? /shared/.test(outcome) : outcome !== 'denied';
        if (!through) continue;
        got[kind === 'listings' ? 'listed' : kind === 'reads' ? 'secrets' : 'planted']++;
        breaches.push(`${what}: ${outcome}`);
      }
      const seen = await victimSees(victim);
      expect(seen.secret).toBe(victim.secret);
      if (seen.files.includes(tag)) breaches.push(`${victim.dir} sees the planted ${tag}`);
    }
    report('two instances on one host', {
      'attacks (each instance on the other)': 2,
      'reads tried': tried.reads,
      'secrets read': got.secrets,
      'plants tried': tried.plants,
      'files planted': got.planted,
      'listings that showed the workspace': got.listed,
    });
    expect(breaches).toEqual([]);
  });
});
