// The one project tool: list/read, switch and save (create, update, archive) are verbs of one
// noun, and every conversation pays for tools/list, so they share one entry and its descriptions.
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { displayProject, GLOBAL, projectName } from '../core/scope.js';
import { allowSecretsArg, refuseSecrets } from '../core/secrets.js';
import { defineTool, type AnyTool, type SessionState } from '../core/tool.js';
import type { ActionFields, ToolActions } from '../core/tool-actions.js';
import { MAX_ITEM_CHARS, MAX_ITEMS, type Project, type ProjectService } from './service.js';
import { CONTEXT_KEYS } from './store.js';

const item = z.string().trim().min(1, 'an item cannot be empty').max(MAX_ITEM_CHARS);
const patch = z.partialRecord(z.enum(CONTEXT_KEYS), z.array(item).max(MAX_ITEMS));
const context = z.record(z.string(), z.array(z.string()));
const projectOut = z.object({
  name: z.string(),
  description: z.string(),
  status: z.enum(['active', 'archived']),
  version: z.number(),
  updated_at: z.string(),
  context: context.optional(),
});

const full = (p: Project) => ({ name: p.name, description: p.description, status: p.status, version: p.version, updated_at: p.updated_at, context: p.context });

export interface ProjectToolOptions {
  /** Called after the session's active project changed (app.ts records it on the session row). */
  onSwitch?: (session: SessionState) => void;
}

const ACTIONS = ['list', 'use', 'save'] as const;
type Action = (typeof ACTIONS)[number];
/** Fields each action uses besides `action` and `name`; any other field is named in the error. */
const ACTION_FIELDS: ToolActions = {
  table: {
    list: { takes: ['include_archived'] },
    use: { takes: ['create'] },
    save: { takes: ['create', 'description', 'add', 'remove', 'archived', 'expected_version', 'allow_secrets'] },
  } satisfies Record<Action, ActionFields>,
  always: ['name'],
};

export function projectTools(projects: ProjectService, opts: ProjectToolOptions = {}): AnyTool[] {
  const project = defineTool({
    name: 'project',
    title: 'Projects',
    description:
      'Projects group memories and notes: list them (with name: one in full), use one (this session works in it, or "global"), or save its goals, decisions, conventions and open questions.',
    kind: 'write',
    input: {
      action: z.enum(ACTIONS),
      name: projectName.optional().describe('Default: the active project (use: required; "global" for none).'),
      create: z.boolean().default(false).describe('save: create it (fails if taken); use: even if close to an existing name.'),
      description: z.string().max(4000).optional().describe('save: what the project is.'),
      add: patch.optional().describe('save: items to append under goals, decisions, conventions or open_questions, e.g. {"decisions": ["Use SQLite"]}.'),
      remove: patch.optional().describe('save: items to remove, by exact text.'),
      archived: z.boolean().optional().describe('save: true archives, false restores.'),
      expected_version: z.number().int().positive().optional().describe('save: fail if it changed since.'),
      include_archived: z.boolean().default(false),
      allow_secrets: allowSecretsArg,
    },
    output: {
      active: z.string().optional(),
      projects: z.array(projectOut).optional(),
      project: z.string().optional(),
      previous: z.string().optional(),
      ...projectOut.partial().shape,
    },
    actions: ACTION_FIELDS,
    handle(args, ctx) {
      if (args.action === 'list') return list(args.name, args.include_archived, ctx.session);
      if (args.action === 'use') return use(args.name, args.create, ctx.session);
      return save(args, ctx.session);
    },
  });

  function list(name: string | undefined, includeArchived: boolean, session: SessionState) {
    const active = displayProject(session.project);
    if (name) return { active, projects: [full(projects.get(name))] };
    return {
      active,
      projects: projects.list(includeArchived).map((p) => ({
        name: p.name,
        description: p.description.length > 200 ? p.description.slice(0, 200) + '…' : p.description,
        status: p.status,
        version: p.version,
        updated_at: p.updated_at,
      })),
    };
  }

  function use(name: string | undefined, create: boolean, session: SessionState) {
    if (name === undefined) throw new UserError('project use needs "name": the project to switch to, or "global".');
    const previous = displayProject(session.project);
    if (name === GLOBAL) {
      session.project = '';
      opts.onSwitch?.(session);
      return { project: GLOBAL, previous };
    }
    const p = projects.ensureUsable(name, create, 'create');
    session.project = p.name;
    opts.onSwitch?.(session);
    return { project: p.name, previous, description: p.description, context: p.context };
  }

  type SaveArgs = {
    name?: string;
    create: boolean;
    description?: string;
    add?: Partial<Record<string, string[]>>;
    remove?: Partial<Record<string, string[]>>;
    archived?: boolean;
    expected_version?: number;
    allow_secrets: boolean;
  };

  function save(args: SaveArgs, session: SessionState) {
    const name = args.name ?? session.project;
    if (!name) throw new UserError('No active project: pass "name", or choose one with project {"action": "use"} or init {project}.');
    if (!args.allow_secrets) refuseSecrets({ description: args.description, add: args.add });
    if (args.create) {
      if (args.archived !== undefined || args.remove || args.expected_version !== undefined) {
        throw new UserError('With "create": true, give only name, description and add.');
      }
      return full(projects.create(name, args.description ?? '', args.add ?? {}));
    }
    const change = { description: args.description, add: args.add, remove: args.remove, expectedVersion: args.expected_version };
    if (args.archived !== undefined) return full(projects.updateAndArchive(name, change, args.archived, session.project));
    if (args.description === undefined && !args.add && !args.remove) throw new UserError('Nothing to change: give description, add, remove or archived (or "create": true).');
    return full(projects.update(name, change));
  }

  return [project];
}
