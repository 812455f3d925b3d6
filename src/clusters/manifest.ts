// An agent's manifest (its README and skills, kept in cluster_agents.manifest) and its Claude Code
// subagent definition, both generated from the blueprint with the templates below. The templates
// are plain functions: each line is visible here, and nothing needs a template engine.
import type { AgentSpec, BlueprintSpec, Capability } from './blueprint.js';

export interface ManifestContext {
  clusterId: string;
  clusterName: string;
  project: string;
  /** Full agent id ('web-team/coder-2'). */
  agentId: string;
  /** Display name ('Coder 2' for a replica of 'Coder'). */
  name: string;
  /** Full id of the agent it reports to, or null for the root. */
  parentId: string | null;
  /** Blueprint agents that report to this one (their template ids). */
  reports: string[];
  spec: AgentSpec;
  blueprint: BlueprintSpec;
}

const list = (items: string[]) => (items.length ? items.map((s) => `- ${s}`).join('\n') : '- (none)');

/** README part: who the agent is and where it sits. */
function readme(c: ManifestContext): string {
  const a = c.spec;
  const resources = Object.entries(a.resources).map(([k, v]) => `${k}: ${String(v)}`);
  return [
    `# ${c.name} (${c.agentId})`,
    '',
    a.description ?? `${a.role} of ${c.clusterName}.`,
    '',
    `- Cluster: ${c.clusterName} (\`${c.clusterId}\`), blueprint \`${c.blueprint.metadata.id}\` ${c.blueprint.metadata.version}`,
    `- Role: ${a.role}${a.role === 'worker' ? ` (replica of \`${a.id}\`)` : ''}`,
    `- Reports to: ${c.parentId ? `\`${c.parentId}\`` : 'nobody (root of the team)'}`,
    `- Has reporting to it: ${c.reports.length ? c.reports.map((r) => `\`${r}\``).join(', ') : 'nobody'}`,
    `- Shared project (memories and notes): \`${c.project}\``,
    ...(resources.length ? ['', '## Resources', list(resources)] : []),
  ].join('\n');
}

/** Skills part: what it is good at and what it may do through brain. */
function skills(c: ManifestContext): string {
  return ['## Skills', list(c.spec.skills), '', '## Capabilities', list(capabilitiesOf(c.spec))].join('\n');
}

export function manifestOf(c: ManifestContext): string {
  return `${readme(c)}\n\n${skills(c)}\n`;
}

/** Every agent can message its team; the blueprint adds the rest. */
export function capabilitiesOf(spec: AgentSpec): Capability[] {
  return [...new Set<Capability>(['messages', ...spec.capabilities])];
}
