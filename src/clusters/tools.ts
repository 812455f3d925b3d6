// The cluster tools: `blueprint` (the YAML that names a team) and `cluster` (the teams made from
// them). One tool per noun with an `action` field and flat optional fields keeps what every
// conversation pays for small (~2.4 KB for both); each action says which fields it needs and
// refuses the ones it does not use, so a mistaken call never half-happens.
import { z } from 'zod';
import { defineTool, type AnyTool } from '../core/tool.js';
import type { ActionFields } from '../core/tool-actions.js';
import { blueprintSummary } from './blueprint.js';
import { exportCluster } from './export.js';
import type { ClusterService } from './service.js';
import { CLUSTER_STATUSES, type ClusterStatus } from './types.js';

const BLUEPRINT_ACTIONS = {
  save: { needs: ['yaml'] },
  validate: { needs: ['yaml'] },
  get: { needs: ['id'], takes: ['revision'] },
  list: {},
  delete: { needs: ['id'] },
} as const satisfies Record<string, ActionFields>;

/** The cluster actions and the fields each one uses. */
const CLUSTER_ACTIONS = {
  create: { needs: ['blueprint'], takes: ['id', 'name', 'description', 'project', 'target'] },
  get: { needs: ['id'] },
  list: { takes: ['status', 'type', 'blueprint'] },
  tree: { needs: ['id'] },
  update: { needs: ['id'], takes: ['name', 'description', 'min', 'max', 'target'], oneOf: ['name', 'description', 'min', 'max', 'target'] },
  scale: { needs: ['id', 'target'] },
  hibernate: { needs: ['id'] },
  reactivate: { needs: ['id'] },
  destroy: { needs: ['id'] },
  restore: { needs: ['id'] },
  autoscale: { needs: ['id'], takes: ['apply'] },
  export: { needs: ['id', 'dir'], takes: ['server'] },
} as const satisfies Record<string, ActionFields>;

type ClusterActionName = keyof typeof CLUSTER_ACTIONS;
const actionNames = <T extends object>(o: T) => Object.keys(o) as [keyof T & string, ...(keyof T & string)[]];

// Ids are checked by the service (with a sentence naming the rule); the schema only bounds length.
const slugArg = z.string().max(40);
const count = z.number().int().min(0).max(50);
const loose = z.looseObject({});

type BlueprintArgs = { action: keyof typeof BLUEPRINT_ACTIONS; yaml?: string; id?: string; revision?: number };

function blueprintAction(clusters: ClusterService, args: BlueprintArgs): object {
  switch (args.action) {
    case 'save':
      return { blueprint: clusters.blueprints.save(args.yaml!) };
    case 'validate':
      return { blueprint: blueprintSummary(clusters.blueprints.validate(args.yaml!)) };
    case 'get': {
      // The YAML as saved is the blueprint; the parsed spec would only repeat it.
      const { spec: _spec, canonical_yaml: _canonical, ...rest } = clusters.blueprints.get(args.id!, args.revision);
      return { blueprint: rest };
    }
    case 'list':
      return { blueprints: clusters.blueprints.list() };
    case 'delete':
      return { deleted: clusters.blueprints.delete(args.id!) };
  }
}

type ClusterArgs = {
  action: ClusterActionName;
  id?: string;
  blueprint?: string;
  name?: string;
  description?: string;
  project?: string;
  status?: ClusterStatus;
  type?: string;
  min?: number;
  max?: number;
  target?: number;
  apply?: boolean;
  dir?: string;
  server?: string;
};

function clusterAction(clusters: ClusterService, args: ClusterArgs): object {
  const id = args.id!;
  switch (args.action) {
    case 'create':
      return clusters.create({ blueprint: args.blueprint!, id: args.id, name: args.name, description: args.description, project: args.project, target: args.target });
    case 'get':
      return clusters.get(id);
    case 'list':
      return { clusters: clusters.list({ status: args.status, type: args.type, blueprint: args.blueprint }) };
    case 'tree':
      return { tree: clusters.tree(id) };
    case 'update': {
      const patch = { name: args.name, description: args.description, min: args.min, max: args.max, target: args.target };
      return clusters.update(id, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)));
    }
    case 'scale':
      return clusters.scale(id, args.target!);
    case 'hibernate':
      return clusters.hibernate(id);
    case 'reactivate':
      return clusters.reactivate(id);
    case 'destroy':
      return clusters.destroy(id);
    case 'restore':
      return clusters.restore(id);
    case 'autoscale':
      return clusters.autoscale(id, args.apply ?? false);
    case 'export':
      return exportCluster(clusters.ctx, { id, dir: args.dir!, server: args.server });
  }
}

const blueprintOutput = {
  blueprint: loose.optional(),
  blueprints: z.array(loose).optional(),
  deleted: loose.optional(),
};

const clusterOutput = {
  cluster: loose.optional(),
  clusters: z.array(loose).optional(),
  agents: z.array(loose).optional(),
  tree: loose.optional(),
  change: loose.optional(),
  requeued: z.number().optional(),
  restorable_until: z.string().optional(),
  decision: loose.optional(),
  snapshot: loose.optional(),
  applied: z.boolean().optional(),
  dir: z.string().optional(),
  files: z.array(z.string()).optional(),
};

/**
 * The service returns interfaces, which TypeScript will not match to the loose output objects (they
 * have no index signature); they are plain JSON objects, and the client checks each result against
 * the listed output schema.
 */
const plain = <O extends z.ZodRawShape>(_shape: O, result: object) => result as z.input<z.ZodObject<O>>;

export function clusterTools(clusters: ClusterService): AnyTool[] {
  const blueprint = defineTool({
    name: 'blueprint',
    title: 'Cluster blueprints',
    description: 'Save, read, list, validate or delete team blueprints: YAML naming a cluster\'s agents, roles, prompts and scaling. Saving a changed blueprint makes a new revision.',
    kind: 'write',
    input: {
      action: z.enum(actionNames(BLUEPRINT_ACTIONS)),
      yaml: z.string().optional(),
      id: slugArg.optional(),
      revision: z.number().int().min(1).max(1_000_000).optional().describe('get: default latest.'),
    },
    output: blueprintOutput,
    actions: { table: BLUEPRINT_ACTIONS },
    handle(args) {
      return plain(blueprintOutput, blueprintAction(clusters, args));
    },
  });

  const cluster = defineTool({
    name: 'cluster',
    title: 'Clusters (agent teams)',
    description: 'Run teams of agents made from blueprints: create, inspect (get, tree), scale or autoscale, hibernate, destroy, restore, export as Claude Code subagents.',
    kind: 'write',
    input: {
      action: z.enum(actionNames(CLUSTER_ACTIONS)),
      id: slugArg.optional(),
      blueprint: slugArg.optional().describe('Blueprint id.'),
      name: z.string().trim().min(1).max(100).optional(),
      description: z.string().max(2000).optional(),
      project: z.string().max(64).optional().describe('create: the team\'s project (default: id).'),
      status: z.enum(CLUSTER_STATUSES).optional(),
      type: slugArg.optional(),
      min: count.optional().describe('Fewest workers.'),
      max: count.optional(),
      target: count.optional().describe('Workers wanted.'),
      apply: z.boolean().optional().describe('autoscale: carry it out.'),
      dir: z.string().max(4096).optional().describe('export: e.g. .claude/agents'),
      server: z.string().max(64).optional().describe('export: brain\'s MCP server name.'),
    },
    output: clusterOutput,
    actions: { table: CLUSTER_ACTIONS },
    handle(args) {
      return plain(clusterOutput, clusterAction(clusters, args));
    },
  });

  return [blueprint, cluster];
}
