// Blueprints: the shipped examples validate and round-trip; every kind of bad input is refused
// with an error that names the field.
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { blueprintToYaml, canonicalJson, loadBlueprint, MAX_BLUEPRINT_BYTES, type BlueprintSpec } from '../src/clusters/blueprint.js';
import { ROOT } from './helpers/brain.js';

const example = (name: string) => fs.readFileSync(path.join(ROOT, 'blueprints', `${name}.yaml`), 'utf8');

/** The software team as a plain object, to break one field at a time. */
function team(): Record<string, any> {
  return yaml.load(example('software-team')) as Record<string, any>;
}
const errorOf = (value: unknown) => {
  try {
    loadBlueprint(typeof value === 'string' ? value : yaml.dump(value));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the blueprint was accepted');
};

describe('blueprints', () => {
  it('the two shipped examples validate', () => {
    const software = loadBlueprint(example('software-team'));
    expect(software.metadata.id).toBe('software-team');
    expect(software.agents.map((a) => `${a.id}:${a.role}`)).toEqual(['lead:lead', 'reviewer:specialist', 'tester:specialist', 'coder:worker']);
    const marketing = loadBlueprint(example('marketing-department'));
    expect(marketing.agents.filter((a) => a.role === 'specialist').map((a) => a.id)).toEqual(['analyst', 'creator', 'publisher']);
    expect(marketing.agents.filter((a) => a.role === 'worker').map((a) => a.id)).toEqual(['image-generator', 'fb-publisher']);
  });

  it('round-trips to YAML: the canonical YAML loads to the same spec', () => {
    for (const name of ['software-team', 'marketing-department']) {
      const spec = loadBlueprint(example(name));
      const again: BlueprintSpec = loadBlueprint(blueprintToYaml(spec));
      expect(canonicalJson(again)).toBe(canonicalJson(spec));
    }
  });

  it('fills in defaults for scaling and monitoring', () => {
    const t = team();
    delete t.scaling;
    delete t.monitoring;
    const spec = loadBlueprint(yaml.dump(t));
    expect(spec.scaling).toEqual({ backlog_per_worker: 4, sustain_seconds: 60, idle_seconds: 300, step: 1, cooldown_seconds: 60 });
    expect(spec.monitoring.metrics_interval_seconds).toBe(60);
  });

  it('errors name the field', () => {
    const t = team();
    t.agents[3].parent = 'lead-x';
    expect(errorOf(t)).toMatch(/agents\[3\]\.parent: unknown agent "lead-x"/);

    const dup = team();
    dup.agents[2].id = 'reviewer';
    expect(errorOf(dup)).toMatch(/agents\[2\]\.id: duplicate agent id "reviewer" \(also agents\[1\]\)/);

    const minMax = team();
    minMax.cluster.min_workers = 5;
    expect(errorOf(minMax)).toMatch(/cluster\.min_workers: 5 is more than max_workers 4/);

    const target = team();
    target.cluster.target_workers = 9;
    expect(errorOf(target)).toMatch(/cluster\.target_workers: 9 is outside min_workers\.\.max_workers \(1\.\.4\)/);

    const missing = team();
    delete missing.agents[0].prompt;
    expect(errorOf(missing)).toMatch(/agents\[0\]\.prompt: required/);

    const wrongType = team();
    wrongType.agents[0].skills = 'planning';
    expect(errorOf(wrongType)).toMatch(/agents\[0\]\.skills: Invalid input: expected array, received string/);

    const unknownField = team();
    unknownField.agents[1].colour = 'blue';
    expect(errorOf(unknownField)).toMatch(/agents\[1\]: unknown field "colour"/);

    const role = team();
    role.agents[1].role = 'boss';
    expect(errorOf(role)).toMatch(/agents\[1\]\.role: Invalid option: expected one of "supervisor"\|"lead"\|"specialist"\|"worker"/);

    const capability = team();
    capability.agents[1].capabilities = ['memory', 'telepathy'];
    expect(errorOf(capability)).toMatch(/agents\[1\]\.capabilities\[1\]/);
  });

  it('refuses a hierarchy with a cycle, an orphan, two roots or roles going up', () => {
    const cycle = team();
    cycle.agents[1].parent = 'tester'; // reviewer -> tester -> reviewer
    cycle.agents[2].parent = 'reviewer';
    const cycleError = errorOf(cycle);
    expect(cycleError).toMatch(/agents\[1\]\.parent: "reviewer" is in a cycle \(reviewer -> tester -> reviewer\) and never reaches the root/);
    expect(cycleError).toMatch(/agents\[2\]\.parent: "tester" is in a cycle/);
    expect(cycleError).not.toMatch(/cannot report to/);

    const orphan = team();
    orphan.agents[2].parent = 'nobody';
    expect(errorOf(orphan)).toMatch(/agents\[2\]\.parent: unknown agent "nobody"/);

    const twoRoots = team();
    delete twoRoots.agents[1].parent;
    expect(errorOf(twoRoots)).toMatch(/2 agents have no parent \(lead, reviewer\)/);

    const workerRoot = team();
    workerRoot.agents = [{ id: 'solo', role: 'worker', name: 'Solo', prompt: 'p' }];
    expect(errorOf(workerRoot)).toMatch(/agents\[0\]\.parent: a worker cannot be the root/);

    const upward = team();
    upward.agents[1].role = 'supervisor';
    expect(errorOf(upward)).toMatch(/agents\[1\]\.role: a supervisor cannot report to a lead/);

    const roleName = team();
    roleName.agents[3].role = 'worker';
    roleName.agents[1].id = 'worker';
    expect(errorOf(roleName)).toMatch(/agents\[1\]\.id: "worker" is the name of another role; an agent with this id must have role worker/);

    const noWorkers = team();
    noWorkers.agents = noWorkers.agents.filter((a: { role: string }) => a.role !== 'worker');
    expect(errorOf(noWorkers)).toMatch(/max_workers is 4 but no agent has role worker/);
  });

  it('refuses YAML that is not a mapping, unreadable YAML, a billion laughs and oversized text', () => {
    expect(errorOf('- just\n- a list\n')).toMatch(/must be a mapping .* not a list/);
    expect(errorOf('')).toMatch(/must be a mapping .* not empty/);
    expect(errorOf('metadata: [unclosed\n')).toMatch(/cannot be read at line \d+, column \d+/);
    const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
    const started = Date.now();
    expect(errorOf(laughs.join('\n') + '\n')).toMatch(/expands to more than 100000 values through its aliases/);
    expect(Date.now() - started).toBeLessThan(5_000); // what it rules out takes minutes and gigabytes
    expect(errorOf('x'.repeat(MAX_BLUEPRINT_BYTES + 1))).toMatch(/at most 262144 bytes/);
  });

  it('reads only plain YAML: no JavaScript types, no merge keys', () => {
    expect(errorOf('metadata: !!js/function "function () {}"\n')).toMatch(/cannot be read/);
    const t = team();
    const text = yaml.dump(t).replace('cluster:\n', 'base: &base\n  type: team\ncluster:\n  <<: *base\n');
    expect(errorOf(text)).toMatch(/unknown field "base"|unknown field "<<"/);
  });
});
