// The MCP server factory. Areas hand it a list of tools; it registers them through one loop that
// validates input strictly, maps errors to `isError` results with an actionable sentence, returns
// compact structuredContent, and times every call. Transports only connect it to a pipe.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { UserError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { TOOL_NAME, type AnyTool, type SessionState, type ToolContext } from './tool.js';

/**
 * `brain://` resources an area serves. Areas describe them; core registers the MCP handlers once
 * for all providers (the first provider whose `read` returns something answers).
 */
export interface ResourceProvider {
  templates: { uriTemplate: string; name: string; title?: string; description: string; mimeType?: string }[];
  /** Concrete resources to list: keep it short (e.g. the most recent ones). */
  list(session: SessionState): { uri: string; name: string; title?: string; description?: string; mimeType?: string }[];
  /** Contents of `uri`, or undefined when this provider does not serve it. May throw UserError. */
  read(uri: string, session: SessionState): { uri: string; mimeType: string; text: string } | undefined;
}

/** A prompt the user can pick in the client (Claude shows them as slash commands). */
export interface PromptDef {
  name: string;
  title: string;
  description: string;
  arguments?: { name: string; description: string; required?: boolean }[];
  /** The prompt text for these arguments. May throw UserError. */
  get(args: Record<string, string>, session: SessionState): Promise<string> | string;
}

export interface ServerDeps {
  name: string;
  version: string;
  instructions: string;
  tools: AnyTool[];
  resources?: ResourceProvider[];
  prompts?: PromptDef[];
  logger: Logger;
  metrics: Metrics;
  /** Called once per connection to make its session state (areas may fill it in later). */
  newSession?: () => SessionState;
  /** Called when the connection closes, with its session state. */
  onClose?: (session: SessionState) => void;
  /**
   * Told how long each handler ran before returning or first awaiting: for the built-in tools
   * that is their database work, which the slow-query log wants. Async waits are not counted.
   */
  onHandlerTime?: (tool: string, ms: number, session: SessionState) => void;
}

interface Registered {
  def: AnyTool;
  input: z.ZodObject;
  output: z.ZodObject;
  listing: Tool;
}

/** Removes the noise zod adds to JSON Schema that clients do not need (keeps tools/list small). */
function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  return js as Tool['inputSchema'];
}

function annotations(def: AnyTool): Tool['annotations'] {
  return {
    title: def.title,
    readOnlyHint: def.kind === 'read',
    destructiveHint: def.kind === 'destructive',
    idempotentHint: def.kind === 'read' || def.kind === 'idempotent',
    openWorldHint: def.openWorld ?? false,
  };
}

const registrations = new WeakMap<AnyTool[], Map<string, Registered>>();

/**
 * Validators and JSON Schemas of a tool list, built once per list: a daemon serves many
 * connections with the same tools, and building them costs tens of milliseconds.
 */
export function register(tools: AnyTool[]): Map<string, Registered> {
  let done = registrations.get(tools);
  if (!done) registrations.set(tools, (done = buildRegistrations(tools)));
  return done;
}

function buildRegistrations(tools: AnyTool[]): Map<string, Registered> {
  const map = new Map<string, Registered>();
  for (const def of tools) {
    if (!TOOL_NAME.test(def.name)) throw new Error(`tool name ${JSON.stringify(def.name)} must match ${TOOL_NAME}`);
    if (map.has(def.name)) throw new Error(`tool ${def.name} is registered twice`);
    const input = z.strictObject(def.input);
    const output = z.object(def.output);
    map.set(def.name, {
      def,
      input,
      output,
      listing: {
        name: def.name,
        title: def.title,
        description: def.description,
        inputSchema: jsonSchema(input, 'input'),
        outputSchema: jsonSchema(output, 'output') as Tool['outputSchema'],
        annotations: annotations(def),
      },
    });
  }
  return map;
}

/** One readable sentence from a zod error: which field, what is wrong, what to change. */
export function describeInputError(tool: string, error: z.ZodError): string {
  const parts = error.issues.map((issue) => {
    const where = issue.path.length ? `"${issue.path.join('.')}"` : 'the arguments';
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.map((k) => `"${k}"`).join(', ');
      return issue.keys.length === 1 ? `unknown field ${names}; remove it` : `unknown fields ${names}; remove them`;
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) return `${where} is required`;
    return `${where}: ${issue.message}`;
  });
  return `Invalid arguments for ${tool}: ${parts.join('; ')}.`;
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

export function createServer(deps: ServerDeps): { server: Server; session: SessionState; cleanup: () => void } {
  // Built on first use, not at connect: the initialize answer needs none of it.
  let registered: Map<string, Registered> | undefined;
  let listing: Tool[] | undefined;
  const tools = () => (registered ??= register(deps.tools));
  const session: SessionState = deps.newSession?.() ?? { id: null, project: '' };
  const server = new Server(
    { name: deps.name, version: deps.version },
    {
      capabilities: {
        tools: {},
        logging: {},
        ...(deps.resources?.length ? { resources: {} } : {}),
        ...(deps.prompts?.length ? { prompts: {} } : {}),
      },
      instructions: deps.instructions,
    },
  );

  const prompts = new Map((deps.prompts ?? []).map((p) => [p.name, p]));
  if (prompts.size) {
    server.setRequestHandler(ListPromptsRequestSchema, async () => ({
      prompts: [...prompts.values()].map(({ name, title, description, arguments: args }) => ({ name, title, description, arguments: args })),
    }));
    server.setRequestHandler(GetPromptRequestSchema, async (request) => {
      const prompt = prompts.get(request.params.name);
      if (!prompt) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt "${request.params.name}"; prompts/list shows what brain offers.`);
      try {
        const text = await prompt.get(request.params.arguments ?? {}, session);
        return { description: prompt.description, messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] };
      } catch (err) {
        if (err instanceof UserError) throw new McpError(ErrorCode.InvalidParams, err.message);
        deps.logger.error('prompt failed', { prompt: prompt.name, error: (err as Error).stack ?? String(err) });
        throw new McpError(ErrorCode.InternalError, `brain could not build the prompt ${prompt.name}; the details are in brain's error log.`);
      }
    });
  }

  const providers = deps.resources ?? [];
  if (providers.length) {
    server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: providers.flatMap((p) => p.list(session)) }));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: providers.flatMap((p) => p.templates) }));
    server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      const uri = request.params.uri;
      try {
        for (const p of providers) {
          const contents = p.read(uri, session);
          if (contents) return { contents: [contents] };
        }
      } catch (err) {
        if (err instanceof UserError) throw new McpError(ErrorCode.InvalidParams, err.message);
        deps.logger.error('resource read failed', { uri, error: (err as Error).stack ?? String(err) });
        throw new McpError(ErrorCode.InternalError, `brain could not read ${uri}; the details are in brain's error log.`);
      }
      throw new McpError(ErrorCode.InvalidParams, `Unknown resource ${uri}; resources/templates/list shows the URI forms brain serves.`);
    });
  }

  server.oninitialized = () => {
    session.clientName = server.getClientVersion()?.name;
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (listing ??= [...tools().values()].map((r) => r.listing)) }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const name = request.params.name;
    const tool = tools().get(name);
    if (!tool) {
      return errorResult(`Unknown tool "${name}". Available tools: ${[...tools().keys()].join(', ')}.`);
    }
    const started = process.hrtime.bigint();
    let status = 'ok';
    try {
      const parsed = tool.input.safeParse(request.params.arguments ?? {});
      if (!parsed.success) {
        status = 'invalid';
        deps.metrics.toolErrors.inc({ tool: name, kind: 'user' });
        return errorResult(describeInputError(name, parsed.error));
      }
      const progressToken = request.params._meta?.progressToken;
      const ctx: ToolContext = {
        session,
        signal: extra.signal,
        logger: deps.logger,
        progress: async (progress, total, message) => {
          if (progressToken === undefined) return;
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, total, message },
          });
        },
      };
      const syncStarted = performance.now();
      const pending = tool.def.handle(parsed.data, ctx);
      deps.onHandlerTime?.(name, performance.now() - syncStarted, session);
      const result = await pending;
      const structured = result as Record<string, unknown>;
      const text = tool.def.text ? tool.def.text(structured) : JSON.stringify(structured);
      const content: CallToolResult['content'] = [{ type: 'text', text }];
      if (tool.def.extraContent) content.push(...tool.def.extraContent(structured));
      return { content, structuredContent: structured };
    } catch (err) {
      if (err instanceof UserError) {
        status = 'user_error';
        deps.metrics.toolErrors.inc({ tool: name, kind: 'user' });
        return errorResult(err.message);
      }
      status = 'error';
      deps.metrics.toolErrors.inc({ tool: name, kind: 'internal' });
      deps.logger.error(`tool ${name} failed`, { error: (err as Error).stack ?? String(err) });
      // Never send a stack to the client; the log has it.
      return errorResult(`brain could not complete ${name}: ${(err as Error).message}. The details are in brain's error log.`);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.requestDuration.observe({ tool: name, status }, seconds);
    }
  });

  server.onclose = () => deps.onClose?.(session);
  return { server, session, cleanup: () => deps.onClose?.(session) };
}
