// The project tools. Three, not six: every conversation pays for tools/list, so listing/reading
// share project_list, and create/update/archive share project_save.
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { displayProject, GLOBAL, projectName } from '../core/scope.js';
import { allowSecretsArg, refuseSecrets } from '../core/secrets.js';
import { defineTool, type AnyTool, type SessionState } from '../core/tool.js';
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

export function projectTools(projects: ProjectService, opts: ProjectToolOptions = {}): AnyTool[] {
  const list = defineTool({
    name: 'project_list',
    title: 'List projects',
    description: 'List projects and which one is active, or read one project\'s context (goals, decisions, conventions, open questions) with "name".',
    kind: 'read',
    input: {
      name: projectName.optional().describe('Read this project in full.'),
      include_archived: z.boolean().default(false).describe('Also list archived projects.'),
    },
    output: { active: z.string(), projects: z.array(projectOut) },
    handle(args, ctx) {
      const active = displayProject(ctx.session.project);
      if (args.name) return { active, projects: [full(projects.get(args.name))] };
      return {
        active,
        projects: projects.list(args.include_archived).map((p) => ({
          name: p.name,
          description: p.description.length > 200 ? p.description.slice(0, 200) + '…' : p.description,
          status: p.status,
          version: p.version,
          updated_at: p.updated_at,
        })),
      };
    },
  });

  const save = defineTool({
    name: 'project_save',
    title: 'Create or update project',
    description:
      'Create a project ("create": true) or record its goals, decisions, conventions and open questions; "archived" archives or restores it. Default: the active project.',
    kind: 'write',
    input: {
      name: projectName.optional().describe('Project name. Default: the active project.'),
      create: z.boolean().default(false).describe('Create it; fails if the name is taken.'),
      description: z.string().max(4000).optional().describe('What the project is.'),
      add: patch.optional().describe('Items to append, e.g. {"decisions": ["Use SQLite: one file to back up"]}. Keys: goals, decisions, conventions, open_questions.'),
      remove: patch.optional().describe('Items to remove, by exact text.'),
      archived: z.boolean().optional().describe('true: archive (hidden, nothing deleted); false: restore.'),
      expected_version: z.number().int().positive().optional().describe('Fail if it changed since this version.'),
      allow_secrets: allowSecretsArg,
    },
    output: projectOut.shape,
    handle(args, ctx) {
      const name = args.name ?? ctx.session.project;
      if (!name) throw new UserError('No active project: pass "name", or choose one with project_use or init {project}.');
      if (!args.allow_secrets) refuseSecrets({ description: args.description, add: args.add });
      if (args.create) {
        if (args.archived !== undefined || args.remove || args.expected_version !== undefined) {
          throw new UserError('With "create": true, give only name, description and add.');
        }
        return full(projects.create(name, args.description ?? '', args.add ?? {}));
      }
      let p: Project | undefined;
      if (args.description !== undefined || args.add || args.remove) {
        p = projects.update(name, { description: args.description, add: args.add, remove: args.remove, expectedVersion: args.expected_version });
      }
      if (args.archived !== undefined) p = projects.archive(name, ctx.session.project, !args.archived);
      if (!p) throw new UserError('Nothing to change: give description, add, remove or archived (or "create": true).');
      return full(p);
    },
  });

  const use = defineTool({
    name: 'project_use',
    title: 'Switch project',
    description: 'Switch this session to another project (created if new), or "global". Searches then see that project plus global items.',
    kind: 'idempotent',
    input: {
      name: projectName.describe('Project name, or "global".'),
      create_project: z.boolean().default(false).describe('Start a new project even though its name is close to an existing one.'),
    },
    output: { project: z.string(), previous: z.string(), description: z.string().optional(), context: context.optional() },
    handle(args, ctx) {
      const previous = displayProject(ctx.session.project);
      if (args.name === GLOBAL) {
        ctx.session.project = '';
        opts.onSwitch?.(ctx.session);
        return { project: GLOBAL, previous };
      }
      const p = projects.ensureUsable(args.name, args.create_project);
      ctx.session.project = p.name;
      opts.onSwitch?.(ctx.session);
      return { project: p.name, previous, description: p.description, context: p.context };
    },
  });

  return [list, save, use];
}
