// Blueprints: the YAML that describes a team. Parsed with js-yaml's core schema (no custom types,
// no merge keys), bounded in size and in alias expansion, then validated with zod and the rules a
// schema cannot express (one root, parents that exist, no cycles, roles that go down the tree).
// Every error names the field it is about, e.g. `agents[3].parent: unknown agent "lead-x"`.
import yaml from 'js-yaml';
import { z } from 'zod';
import { UserError } from '../core/errors.js';

/** Largest blueprint text accepted (a real one is a few KiB; the marketing example is ~5 KiB). */
export const MAX_BLUEPRINT_BYTES = 256 * 1024;
/**
 * Nodes of the loaded value, counted with aliases expanded. A "billion laughs" file is tiny and
 * parses fast (aliases share one object), but anything that walks the result (zod, JSON.stringify)
 * would visit every expansion; 100,000 is far above any honest blueprint (100 agents x ~50 nodes).
 */
const MAX_EXPANDED_NODES = 100_000;
const MAX_AGENTS = 100;
export const MAX_WORKERS = 50;

export const ROLES = ['supervisor', 'lead', 'specialist', 'worker'] as const;
export type Role = (typeof ROLES)[number];
/** Higher is further down the hierarchy: a child's rank is always above its parent's. */
export const ROLE_RANK: Record<Role, number> = { supervisor: 0, lead: 1, specialist: 2, worker: 3 };

/**
 * What an agent may do through brain; each capability brings the brain tools of that kind into the
 * agent's exported subagent definition (see manifest.ts). Every agent can message its team.
 */
export const CAPABILITIES = ['memory', 'notes', 'messages', 'tasks', 'execute', 'events', 'manage'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Claude Code's built-in tools an agent may be given besides brain's (its subagent `tools` line). */
export const CLAUDE_CODE_TOOLS = [
  'Bash',
  'Edit',
  'Glob',
  'Grep',
  'LS',
  'MultiEdit',
  'NotebookEdit',
  'NotebookRead',
  'Read',
  'Task',
  'TodoWrite',
  'WebFetch',
  'WebSearch',
  'Write',
] as const;

export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const KEY = /^[a-z][a-z0-9_-]{0,39}$/;
const slug = (what: string) =>
  z
    .string()
    .regex(SLUG, `${what} is 1-40 lower-case letters, digits and "-", starting and ending with a letter or digit`);

const text = (max: number) => z.string().trim().min(1).max(max);
const seconds = (max: number) => z.number().int().min(0).max(max);

const agentSchema = z.strictObject({
  id: slug('an agent id'),
  role: z.enum(ROLES),
  parent: slug('a parent id').optional(),
  name: text(100),
  description: text(500).optional(),
  skills: z.array(text(100)).max(30).default([]),
  capabilities: z.array(z.enum(CAPABILITIES)).max(CAPABILITIES.length).default([]),
  prompt: text(16 * 1024),
  /** Free-form hints for whoever runs the agent (model, token budget, ...): shown in its manifest. */
  resources: z.record(z.string().regex(KEY, 'a resource name is 1-40 lower-case letters, digits, "_" or "-", starting with a letter'), z.union([z.string().max(200), z.number(), z.boolean()])).default({}),
  claude_tools: z.array(z.enum(CLAUDE_CODE_TOOLS)).max(CLAUDE_CODE_TOOLS.length).default([]),
  /** Workers only: share of the replicas this template gets when the cluster scales. */
  weight: z.number().int().min(1).max(10).default(1),
});

const scalingSchema = z.strictObject({
  /** Scale up when queued tasks per worker stay above this... */
  backlog_per_worker: z.number().min(0).max(1000).default(4),
  /** ...for this long. */
  sustain_seconds: seconds(86_400).default(60),
  /** Scale down after this long with nothing queued for workers while a worker was free... */
  idle_seconds: seconds(7 * 86_400).default(300),
  /** Workers added or removed by one decision. */
  step: z.number().int().min(1).max(MAX_WORKERS).default(1),
  /** ...and at least this long after the last scaling (up, down or by hand). */
  cooldown_seconds: seconds(86_400).default(60),
});

const blueprintSchema = z.strictObject({
  metadata: z.strictObject({
    id: slug('a blueprint id'),
    name: text(100),
    version: z
      .union([z.string(), z.number()])
      .transform((v) => String(v))
      .pipe(z.string().regex(/^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$/, 'a version such as "1.0.0"')),
    description: text(2000).optional(),
  }),
  cluster: z.strictObject({
    type: slug('a cluster type (e.g. department, project, team)'),
    min_workers: z.number().int().min(0).max(MAX_WORKERS),
    max_workers: z.number().int().min(0).max(MAX_WORKERS),
    target_workers: z.number().int().min(0).max(MAX_WORKERS).optional(),
  }),
  scaling: scalingSchema.default(scalingSchema.parse({})),
  agents: z.array(agentSchema).min(1).max(MAX_AGENTS),
  monitoring: z
    .strictObject({
      metrics_interval_seconds: z.number().int().min(10).max(86_400).default(60),
      /** Queued tasks above which the cluster counts as backed up (health, alerts). */
      alert_backlog: z.number().int().min(1).max(1_000_000).optional(),
    })
    .default({ metrics_interval_seconds: 60 }),
});

export type BlueprintSpec = z.output<typeof blueprintSchema>;
export type AgentSpec = BlueprintSpec['agents'][number];
export type ScalingPolicy = BlueprintSpec['scaling'];

/** `agents[3].parent` from a zod path. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || 'the blueprint';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = fieldPath(issue.path);
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: required`;
  return `${where}: ${issue.message}`;
}

export class BlueprintError extends UserError {
  override name = 'BlueprintError';
  constructor(readonly problems: string[]) {
    super(`Invalid blueprint: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}.`);
  }
}

/** Counts nodes as a walk would meet them (shared objects once per reference); stops at the budget. */
function exceedsNodeBudget(value: unknown, budget: number): boolean {
  let left = budget;
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (--left < 0) return true;
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stack.push(x);
  }
  return false;
}

/** YAML text -> plain value, refusing oversized text and alias bombs. */
export function parseBlueprintYaml(source: string): unknown {
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > MAX_BLUEPRINT_BYTES) throw new BlueprintError([`the text is ${bytes} bytes; a blueprint may be at most ${MAX_BLUEPRINT_BYTES} bytes`]);
  let value: unknown;
  try {
    value = yaml.load(source, { schema: yaml.CORE_SCHEMA, json: false });
  } catch (err) {
    const e = err as yaml.YAMLException;
    const at = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw new BlueprintError([`the YAML cannot be read${at}: ${e.reason ?? e.message}`]);
  }
  if (exceedsNodeBudget(value, MAX_EXPANDED_NODES)) {
    throw new BlueprintError([`the YAML expands to more than ${MAX_EXPANDED_NODES} values through its aliases (*name); write the agents out instead of nesting aliases`]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BlueprintError([`the YAML must be a mapping with metadata, cluster and agents, not ${value === null || value === undefined ? 'empty' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}`]);
  }
  return value;
}

/** Rules across fields: counts, the hierarchy, roles going down the tree. */
function crossChecks(spec: BlueprintSpec): string[] {
  const problems: string[] = [];
  const { min_workers: min, max_workers: max } = spec.cluster;
  if (min > max) problems.push(`cluster.min_workers: ${min} is more than max_workers ${max}`);
  const target = spec.cluster.target_workers;
  if (target !== undefined && (target < min || target > max)) problems.push(`cluster.target_workers: ${target} is outside min_workers..max_workers (${min}..${max})`);

  const byId = new Map<string, number>();
  spec.agents.forEach((a, i) => {
    // Messages and tasks address "a role or a blueprint agent" with one word, so an agent named
    // like a role must have that role ("lead" the lead), or the word would mean two things.
    if ((ROLES as readonly string[]).includes(a.id) && a.role !== a.id) problems.push(`agents[${i}].id: "${a.id}" is the name of another role; an agent with this id must have role ${a.id}, or pick another id`);
    if (byId.has(a.id)) problems.push(`agents[${i}].id: duplicate agent id "${a.id}" (also agents[${byId.get(a.id)}])`);
    else byId.set(a.id, i);
  });

  const roots = spec.agents.flatMap((a, i) => (a.parent === undefined ? [i] : []));
  if (roots.length === 0) problems.push('agents: no agent without a parent; exactly one supervisor or lead must be the root');
  if (roots.length > 1) problems.push(`agents: ${roots.length} agents have no parent (${roots.map((i) => spec.agents[i].id).join(', ')}); exactly one may be the root, give the others a parent`);
  for (const i of roots) {
    const a = spec.agents[i];
    if (a.role !== 'supervisor' && a.role !== 'lead') problems.push(`agents[${i}].parent: a ${a.role} cannot be the root; give it a parent (the root is a supervisor or lead)`);
  }

  // Parents first: an unknown parent, then cycles (a walk up that meets itself never reaches the
  // root), then the ranks, only where the chain is sound so each agent gets its one real problem.
  const broken = new Set<number>();
  spec.agents.forEach((a, i) => {
    if (a.parent === undefined) return;
    if (!byId.has(a.parent)) {
      broken.add(i);
      problems.push(`agents[${i}].parent: unknown agent "${a.parent}"`);
    }
  });
  spec.agents.forEach((a, i) => {
    if (broken.has(i)) return;
    const chain = [a.id];
    for (let cur = a.parent; cur !== undefined; ) {
      if (chain.includes(cur)) {
        broken.add(i);
        problems.push(`agents[${i}].parent: "${a.id}" is in a cycle (${[...chain, cur].join(' -> ')}) and never reaches the root`);
        break;
      }
      chain.push(cur);
      const up = byId.get(cur);
      if (up === undefined) break; // reported above for the agent that names it
      cur = spec.agents[up].parent;
    }
  });
  spec.agents.forEach((a, i) => {
    if (a.parent === undefined || broken.has(i)) return;
    const parent = spec.agents[byId.get(a.parent)!];
    if (ROLE_RANK[a.role] <= ROLE_RANK[parent.role]) {
      problems.push(`agents[${i}].role: a ${a.role} cannot report to a ${parent.role} ("${parent.id}"); the order is supervisor > lead > specialist > worker`);
    }
  });
  if (max > 0 && !spec.agents.some((a) => a.role === 'worker')) problems.push(`agents: max_workers is ${max} but no agent has role worker; add a worker or set max_workers to 0`);
  return problems;
}

/** A parsed value -> a checked spec, or a BlueprintError listing every problem with its field. */
export function validateBlueprint(value: unknown): BlueprintSpec {
  const parsed = blueprintSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new BlueprintError(parsed.error.issues.map(describeIssue));
  const spec = parsed.data;
  const problems = crossChecks(spec);
  if (problems.length) throw new BlueprintError(problems);
  return spec;
}

/** YAML text -> checked spec. */
export function loadBlueprint(source: string): BlueprintSpec {
  return validateBlueprint(parseBlueprintYaml(source));
}

/** The target worker count: as written, or the minimum. */
export function targetWorkers(spec: BlueprintSpec): number {
  return spec.cluster.target_workers ?? spec.cluster.min_workers;
}

/** Canonical YAML of a spec (defaults filled in): loading it gives the same spec back. */
export function blueprintToYaml(spec: BlueprintSpec): string {
  return yaml.dump(spec, { schema: yaml.CORE_SCHEMA, lineWidth: 100, noRefs: true, sortKeys: false });
}

/** Keys in a fixed order, so equal specs serialise (and hash) equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** What `validate` reports about a good blueprint (the tool and the CLI say the same). */
export function blueprintSummary(spec: BlueprintSpec) {
  const c = spec.cluster;
  return {
    valid: true,
    id: spec.metadata.id,
    name: spec.metadata.name,
    version: spec.metadata.version,
    cluster_type: c.type,
    agents: spec.agents.map((a) => `${a.id} (${a.role})`),
    workers: { min: c.min_workers, max: c.max_workers, target: targetWorkers(spec) },
  };
}
