// A cluster as Claude Code subagents: one Markdown file per live agent, `<dir>/<cluster>-<agent>.md`,
// with YAML front matter (name, description, tools) and a body that is the agent's prompt, how it
// works with brain under its agent id, and its manifest. Claude Code loads such files from
// `.claude/agents/` (project) or `~/.claude/agents/` (user), so the team can be run at once.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { UserError } from '../core/errors.js';
import type { AgentSpec, Capability, Role } from './blueprint.js';
import type { ClusterContext } from './context.js';
import { assertCan } from './lifecycle.js';
import { capabilitiesOf } from './manifest.js';
import * as store from './store.js';
import type { AgentRow, ClusterRow } from './types.js';

/**
 * The brain tools each capability brings into an agent's subagent file. Only tools the server
 * lists are named, so an agent is never pointed at a tool that this brain does not have.
 */
export const CAPABILITY_TOOLS: Record<Capability, readonly string[]> = {
  memory: ['remember', 'recall', 'search'],
  notes: ['note', 'search'],
  messages: ['message'],
  tasks: ['task'],
  execute: ['execute', 'executions'],
  events: ['events'],
  manage: ['cluster', 'blueprint', 'project'],
};

/** Tools that take `project`: the agent passes its cluster's project so the team shares one scope. */
const PROJECT_TOOLS = new Set(['remember', 'recall', 'search', 'note', 'execute', 'executions']);

/** Model aliases Claude Code accepts in a subagent's `model` field; a blueprint sets one with resources.model. */
const CLAUDE_MODELS = new Set(['sonnet', 'opus', 'haiku', 'inherit']);

/** Claude Code spells MCP tools `mcp__<server>__<tool>`; other characters would be rewritten by it. */
const SERVER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const USE_FOR: Record<Role, string> = {
  supervisor: 'Use it to run the whole team: set priorities, hand work to the leads and specialists, and decide when a goal is met.',
  lead: 'Use it to plan work for the team: break a request into tasks, hand them out and follow them to done.',
  specialist: 'Use it for work that needs these skills, or when the team lead asks for it.',
  worker: "Use it to take tasks from the team's board and carry them out one at a time.",
};

export interface ExportInput {
  id: string;
  dir: string;
  /** The name brain has in the client's MCP config (default "brain"). */
  server?: string;
  /** Where a relative dir starts (default the process's working directory). */
  cwd?: string;
}

export interface ExportResult {
  /** The directory written to, absolute. */
  dir: string;
  /** File names written inside it, one per live agent. */
  files: string[];
}

/** A directory the person named: absolute, or relative to `cwd`; never with a `..` segment. */
export function resolveExportDir(dir: string, cwd: string): string {
  if (!dir.trim()) throw new UserError('"dir" is empty; name the directory for the subagent files, e.g. ".claude/agents".');
  if (dir.includes('\0')) throw new UserError('"dir" contains a NUL character; give a plain directory path.');
  if (dir.split(/[\\/]+/).includes('..')) {
    throw new UserError(`"dir" may not contain ".." segments; name the directory itself, absolute or relative to brain's working directory (${cwd}).`);
  }
  return path.resolve(cwd, dir);
}

/** The brain tool names an agent's file lists, in table order, without duplicates. */
export function brainToolsOf(spec: AgentSpec, available: ReadonlySet<string>): string[] {
  const names = capabilitiesOf(spec).flatMap((c) => CAPABILITY_TOOLS[c]);
  return [...new Set(names)].filter((n) => available.has(n));
}

interface AgentFile {
  name: string;
  text: string;
}

const code = (s: string) => `\`${s}\``;
const json = (o: Record<string, unknown>) => code(JSON.stringify(o));

/** The body part that tells the agent how to act through brain, for the tools it actually has. */
function workingWithBrain(cluster: ClusterRow, agent: AgentRow, spec: AgentSpec, tools: string[], mcp: (t: string) => string): string {
  const me = agent.id;
  const has = (t: string) => tools.includes(t);
  const lines: string[] = [
    '## Working with brain',
    '',
    `You are **${agent.name}**, agent ${code(me)} of the team "${cluster.name}" (brain cluster ${code(cluster.id)}). ` +
      `brain holds the team's shared state; give ${code(`"agent": "${me}"`)} in every brain call that asks who is acting.`,
    '',
  ];
  const scoped = tools.filter((t) => PROJECT_TOOLS.has(t));
  if (scoped.length) {
    lines.push(`- Shared memory and notes: pass ${code(`"project": "${cluster.project}"`)} to ${scoped.map(mcp).join(', ')}. What one agent of the team stores there, the others find.`);
  }
  if (has('message')) {
    const m = mcp('message');
    lines.push(
      `- Inbox: read it first and between steps with ${m} ${json({ action: 'inbox', agent: me })}; once a message is handled, acknowledge it with ${json({ action: 'ack', agent: me, ids: [1] })} (its ids).`,
      `- Send with ${m} ${json({ action: 'send', agent: me, to: '<agent id>', subject: '...', body: '...' })}; use "to_role" (a role or a blueprint agent id) or "broadcast": true instead of "to" to reach several.`,
    );
  }
  if (has('task')) {
    const t = mcp('task');
    lines.push(
      `- Work from the task board: claim the next task with ${t} ${json({ action: 'claim', agent: me })}; while you work on it, renew the lease at least once a minute with ${json({ action: 'heartbeat', agent: me, id: 1 })} (the task's id), or it goes back to the queue for someone else.`,
      `- Finish a task with ${json({ action: 'complete', agent: me, id: 1, result: { summary: '...' } })}, or give it back with ${json({ action: 'fail', agent: me, id: 1, reason: '...' })} when you cannot do it.`,
    );
    if (spec.role !== 'worker') {
      lines.push(`- Hand work out with ${json({ action: 'post', agent: me, cluster: cluster.id, kind: '...', payload: {}, role: '<role or agent>' })} and read its result with ${json({ action: 'get', id: 1 })}.`);
    }
  }
  if (agent.parent) {
    lines.push(
      has('message')
        ? `- Report to ${code(agent.parent)}, the agent you answer to: message it when you finish something, are blocked, or learn something the team should know.`
        : `- You answer to ${code(agent.parent)}.`,
    );
  } else {
    lines.push('- You are the root of the team: you answer to the person who started you, and report to them.');
  }
  return lines.join('\n');
}

function subagentFile(cluster: ClusterRow, agent: AgentRow, spec: AgentSpec, available: ReadonlySet<string>, server: string): AgentFile {
  const name = `${cluster.id}-${agent.agent}`;
  const mcp = (t: string) => `mcp__${server}__${t}`;
  const tools = brainToolsOf(spec, available);
  const front = {
    name,
    description: [
      `${agent.name} (${spec.role} of team "${cluster.name}", brain cluster ${cluster.id}).`,
      spec.description ?? '',
      spec.skills.length ? `Skills: ${spec.skills.join(', ')}.` : '',
      USE_FOR[spec.role],
    ]
      .filter(Boolean)
      .join(' '),
    tools: [...tools.map(mcp), ...spec.claude_tools].join(', '),
    ...(typeof spec.resources.model === 'string' && CLAUDE_MODELS.has(spec.resources.model) ? { model: spec.resources.model } : {}),
  };
  const text = [
    '---',
    yaml.dump(front, { lineWidth: -1, schema: yaml.CORE_SCHEMA }).trimEnd(),
    '---',
    '',
    spec.prompt.trim(),
    '',
    workingWithBrain(cluster, agent, spec, tools, mcp),
    '',
    agent.manifest.trim(),
    '',
  ].join('\n');
  return { name: `${name}.md`, text };
}

/** Writes every file to a temp name first, then renames them all: a failed write leaves no partial file. */
function writeAll(root: string, files: AgentFile[]): void {
  try {
    fs.mkdirSync(root, { recursive: true });
  } catch (err) {
    throw new UserError(`Cannot create the directory "${root}": ${(err as Error).message}.`);
  }
  if (!fs.statSync(root).isDirectory()) throw new UserError(`"${root}" is not a directory; name a directory for the subagent files.`);
  const pending: [tmp: string, target: string][] = [];
  try {
    for (const f of files) {
      const target = path.resolve(root, f.name);
      // Names are made of slugs, so this only guards against a future change that breaks that.
      if (path.dirname(target) !== root) throw new UserError(`"${f.name}" would land outside "${root}"; nothing was written.`);
      const tmp = path.join(root, `.${f.name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      fs.writeFileSync(tmp, f.text, { flag: 'wx', mode: 0o644 });
      pending.push([tmp, target]);
    }
    for (const [tmp, target] of pending) fs.renameSync(tmp, target);
  } catch (err) {
    for (const [tmp] of pending) fs.rmSync(tmp, { force: true });
    if (err instanceof UserError) throw err;
    throw new UserError(`Cannot write the subagent files into "${root}": ${(err as Error).message}.`);
  }
}

/** Writes `<dir>/<cluster>-<agent>.md` for every live agent of an active or hibernated cluster. */
export function exportCluster(ctx: ClusterContext, input: ExportInput): ExportResult {
  const server = input.server ?? 'brain';
  if (!SERVER_NAME.test(server)) throw new UserError(`"server" is the name brain has in your MCP config (letters, digits, "_" or "-"), e.g. "brain"; "${server}" is not one.`);
  const root = resolveExportDir(input.dir, input.cwd ?? process.cwd());
  const cluster = ctx.cluster(input.id);
  assertCan(cluster, 'export');
  const spec = ctx.spec(cluster);
  const templates = new Map(spec.agents.map((a) => [a.id, a]));
  const available = new Set(ctx.toolNames());
  const files = store
    .clusterAgents(ctx.db, cluster.id)
    .filter((a) => a.state !== 'retired')
    .map((a) => subagentFile(cluster, a, templates.get(a.template)!, available, server));
  writeAll(root, files);
  return { dir: root, files: files.map((f) => f.name) };
}
