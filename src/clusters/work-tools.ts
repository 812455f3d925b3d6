// The tools agents work with: `message` (send, inbox, ack, history) and `task` (the board). One
// tool per noun with an `action` and flat optional fields, because every conversation pays for
// tools/list: both together stay near 2.6 KB of names, descriptions and input schemas. Which
// fields an action takes is checked here, so a field given to the wrong action is named in the
// error instead of being ignored.
import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { refuseSecrets } from '../core/secrets.js';
import { defineTool, type AnyTool } from '../core/tool.js';
import type { ActionFields, ToolActions } from '../core/tool-actions.js';
import { MAX_LIST } from './board.js';
import { MAX_PAGE, PRIORITIES } from './mailbox.js';
import type { ClusterService } from './service.js';
import { TASK_STATUSES } from './board-store.js';

const MESSAGE_ACTIONS = ['send', 'inbox', 'ack', 'history'] as const;
const TASK_ACTIONS = ['post', 'claim', 'heartbeat', 'complete', 'fail', 'get', 'list'] as const;

/** Fields each action takes besides `action` (and, for message, `agent`). */
const MESSAGE_FIELDS: ToolActions = {
  table: {
    send: { needs: ['subject'], takes: ['to', 'to_role', 'broadcast', 'body', 'context', 'priority', 'allow_secrets'] },
    inbox: { takes: ['include', 'cursor', 'limit'] },
    ack: { needs: ['ids'] },
    history: { needs: ['with'], takes: ['cursor', 'limit'] },
  } satisfies Record<(typeof MESSAGE_ACTIONS)[number], ActionFields>,
  always: ['agent'],
};
const TASK_FIELDS: ToolActions = {
  table: {
    post: { needs: ['kind'], takes: ['agent', 'cluster', 'payload', 'priority', 'role', 'max_attempts'] },
    claim: { needs: ['agent'], takes: ['lease_seconds', 'wait_seconds'] },
    heartbeat: { needs: ['agent', 'id'], takes: ['lease_seconds'] },
    complete: { needs: ['agent', 'id'], takes: ['result'] },
    fail: { needs: ['agent', 'id', 'reason'] },
    get: { needs: ['id'], takes: ['agent'] },
    list: { takes: ['agent', 'cluster', 'status', 'limit'] },
  } satisfies Record<(typeof TASK_ACTIONS)[number], ActionFields>,
};

// Bounds that the service checks with a sentence of its own are left out of the schemas: each
// "minimum"/"maximum"/"maxLength" costs every conversation about 20 bytes of tools/list.
const json = z.unknown().optional();
/**
 * The opt-out of the credential check (core/secrets.ts), in fewer bytes than other tools' wording.
 * Only messages are checked: task payloads and results would need the field on `task` too, 71
 * bytes more than the area's 5 KB of tools/list allows.
 */
const allowSecrets = z.boolean().optional().describe('Store secrets anyway.');
const priority = z.enum(PRIORITIES).optional();
function whole(field: string, n: number | undefined, min = 1, max = Number.MAX_SAFE_INTEGER) {
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= min && n <= max)) {
    throw new UserError(`"${field}" must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` of at least ${min}`}.`);
  }
}

/** Fields that name something (ids, roles, labels, cursors): short, so an error can quote them. */
const NAMES = ['agent', 'to', 'to_role', 'with', 'cursor', 'cluster', 'kind', 'role'];
const MAX_NAME_CHARS = 200;
function checkNames(args: Record<string, unknown>) {
  for (const field of NAMES) {
    const v = args[field];
    if (typeof v === 'string' && v.length > MAX_NAME_CHARS) throw new UserError(`"${field}" is ${v.length} characters; ids, roles, labels and cursors are at most ${MAX_NAME_CHARS}.`);
  }
}

const item = z.looseObject({ id: z.number() });

export function workTools(clusters: ClusterService): AnyTool[] {
  const message = defineTool({
    name: 'message',
    title: 'Agent messages',
    description:
      "Cluster agents' mail, as agent: send (to, to_role, broadcast), inbox, ack, history.",
    kind: 'write',
    input: {
      action: z.enum(MESSAGE_ACTIONS),
      agent: z.string().describe('Your agent id (cluster/agent).'),
      to: z.string().optional().describe('send: agent id.'),
      to_role: z.string().optional().describe('send: role/blueprint agent (all live).'),
      broadcast: z.boolean().optional().describe('send: to all.'),
      subject: z.string().optional().describe('send: a line.'),
      body: z.string().optional().describe('send: text.'),
      context: json.describe('send: JSON.'),
      priority: priority.describe('Default normal.'),
      ids: z.array(z.number()).optional().describe('ack: ids.'),
      with: z.string().optional().describe('history: with whom.'),
      include: z.enum(['pending', 'all']).optional().describe('inbox: all adds acknowledged.'),
      cursor: z.string().optional().describe("Last page's next_cursor."),
      limit: z.number().optional(),
      allow_secrets: allowSecrets,
    },
    output: {
      id: z.number().optional(),
      to: z.array(z.string()).optional(),
      audience: z.string().optional(),
      messages: z.array(item).optional(),
      pending: z.number().optional(),
      next_cursor: z.string().optional(),
      acknowledged: z.array(z.number()).optional(),
      already: z.array(z.number()).optional(),
    },
    actions: MESSAGE_FIELDS,
    handle(args) {
      checkNames(args);
      for (const id of args.ids ?? []) whole('ids', id);
      whole('limit', args.limit, 1, MAX_PAGE);
      const mail = clusters.messages;
      if (!args.allow_secrets) refuseSecrets({ subject: args.subject, body: args.body, context: args.context });
      switch (args.action) {
        case 'send':
          return mail.send({
            from: args.agent,
            to: args.to,
            toRole: args.to_role,
            broadcast: args.broadcast,
            subject: args.subject!,
            body: args.body,
            context: args.context,
            priority: args.priority,
          });
        case 'inbox':
          return mail.inbox(args.agent, { include: args.include, cursor: args.cursor, limit: args.limit });
        case 'ack':
          return mail.ack(args.agent, args.ids!);
        case 'history':
          return mail.history(args.agent, args.with!, { cursor: args.cursor, limit: args.limit });
      }
    },
  });

  const task = defineTool({
    name: 'task',
    title: 'Task board',
    description:
      "Cluster task board: post work; as agent claim (leased), heartbeat, complete, fail; get with result; list.",
    kind: 'write',
    input: {
      action: z.enum(TASK_ACTIONS),
      agent: z.string().optional().describe('Your agent id (post: omit = assistant).'),
      cluster: z.string().optional().describe('post, list: cluster id.'),
      id: z.number().optional().describe('Task id.'),
      kind: z.string().optional().describe('post: label, e.g. test.'),
      payload: json.describe('post: JSON.'),
      priority: priority.describe('Default normal.'),
      role: z.string().optional().describe('post: role/blueprint agent that may claim (default workers).'),
      max_attempts: z.number().optional().describe('post: tries (default 3).'),
      lease_seconds: z.number().optional().describe('Default 60.'),
      wait_seconds: z.number().optional().describe('claim: wait (max 30 s).'),
      result: json.describe('complete: JSON.'),
      reason: z.string().optional().describe('fail: why.'),
      status: z.enum(TASK_STATUSES).optional().describe('list: by status.'),
      limit: z.number().optional(),
    },
    output: {
      task: item.nullable().optional(),
      tasks: z.array(item).optional(),
      counts: z.record(z.string(), z.number()).optional(),
    },
    actions: TASK_FIELDS,
    async handle(args, ctx) {
      checkNames(args);
      whole('id', args.id);
      whole('limit', args.limit, 1, MAX_LIST);
      const board = clusters.tasks;
      switch (args.action) {
        case 'post':
          return {
            task: board.post({ cluster: args.cluster, agent: args.agent, kind: args.kind!, payload: args.payload, priority: args.priority, role: args.role, maxAttempts: args.max_attempts }),
          };
        case 'claim':
          return { task: await board.claimWait(args.agent!, { leaseSeconds: args.lease_seconds, waitSeconds: args.wait_seconds, signal: ctx.signal }) };
        case 'heartbeat':
          return { task: board.heartbeat(args.agent!, args.id!, args.lease_seconds) };
        case 'complete':
          return { task: board.complete(args.agent!, args.id!, args.result) };
        case 'fail':
          return { task: board.fail(args.agent!, args.id!, args.reason!) };
        case 'get':
          return { task: board.get(args.id!, args.agent) };
        case 'list':
          return board.list({ cluster: args.cluster, agent: args.agent, status: args.status, limit: args.limit });
      }
    },
  });

  return [message, task];
}
