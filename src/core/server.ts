// The MCP server factory. Areas hand it a list of tools; it registers them through one loop that
// validates input strictly, maps errors to `isError` results with an actionable sentence, returns
// compact structuredContent, and times every call. Transports only connect it to a pipe.
// Protocol errors (an unknown tool, prompt or resource) are JSON-RPC errors with the codes the MCP
// specification gives them; resource reads come in pages; completions come from the areas'
// completers; and warnings published on the notice board reach the session as log messages.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { NotFoundError, UserError } from './errors.js';
import { describeIssues, REPORT_INPUT } from './input-errors.js';
import { ProtocolError, RESOURCE_NOT_FOUND } from './jsonrpc.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { severity, type LogLevel, type Notice, type NoticeBoard } from './notices.js';
import { TOOL_NAME, type AnyTool, type SessionState, type ToolContext } from './tool.js';
import { checkActionFields } from './tool-actions.js';

/**
 * Suggestions for one argument of a prompt or resource template (`completion/complete`), given
 * what the person typed so far and the arguments already chosen. Best first; core sends 100.
 */
export type Completer = (value: string, context: Record<string, string>, session: SessionState) => string[];

/**
 * The values that fit what was typed: those starting with it first, then those containing it
 * (case does not matter), each group in the order given.
 */
export function completeFrom(values: Iterable<string>, typed: string): string[] {
  const t = typed.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const v of new Set(values)) {
    const lower = v.toLowerCase();
    if (lower.startsWith(t)) starts.push(v);
    else if (lower.includes(t)) contains.push(v);
  }
  return [...starts, ...contains];
}

/** One `brain://` URI template; `complete` maps its variables to their completers. */
export interface ResourceTemplate {
  uriTemplate: string;
  name: string;
  title?: string;
  description: string;
  mimeType?: string;
  complete?: Record<string, Completer>;
}

/**
 * `brain://` resources an area serves. Areas describe them; core registers the MCP handlers once
 * for all providers (the first provider whose `read` returns something answers).
 */
export interface ResourceProvider {
  templates: ResourceTemplate[];
  /** Concrete resources to list: keep it short (e.g. the most recent ones). */
  list(session: SessionState): { uri: string; name: string; title?: string; description?: string; mimeType?: string }[];
  /**
   * Contents of `uri`, or undefined when this provider does not serve it. May throw UserError
   * (NotFoundError for a well-formed URI naming nothing). Core pages long texts.
   */
  read(uri: string, session: SessionState): { uri: string; mimeType: string; text: string } | undefined;
}

/** A prompt the user can pick in the client (Claude shows them as slash commands). */
export interface PromptDef {
  name: string;
  title: string;
  description: string;
  arguments?: { name: string; description: string; required?: boolean; complete?: Completer }[];
  /** The prompt text for these arguments. May throw UserError. */
  get(args: Record<string, string>, session: SessionState): Promise<string> | string;
}

export interface ServerDeps {
  name: string;
  version: string;
  instructions: string;
  tools: AnyTool[];
  /**
   * Tools this brain has but was told not to offer (a capability turned off), each with the
   * sentence a call to it answers: what turns it on.
   */
  disabled?: ReadonlyMap<string, string>;
  resources?: ResourceProvider[];
  prompts?: PromptDef[];
  logger: Logger;
  metrics: Metrics;
  /** Warnings for every open session (sent as MCP log messages). */
  notices?: NoticeBoard;
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
  /** Field defaults: a caller that writes one has not given the field (see tool-actions.ts). */
  defaults: Record<string, unknown>;
  listing: Tool;
}

/**
 * Keywords the model does not need to call a tool well: bounds, patterns and formats are checked
 * here on every call, and a call that breaks one gets a sentence naming the rule (input-errors.ts),
 * so the model learns a limit from the one call that needs it instead of every conversation paying
 * for all of them in tools/list (about 4 KB over brain's tools). Types, enums, defaults and
 * descriptions stay: they are what the model reads to fill the arguments in.
 */
const VALIDATION_ONLY = new Set(['pattern', 'format', 'minLength', 'maxLength', 'minItems', 'maxItems', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'propertyNames']);

/** A listed input schema: the JSON Schema less what only validation needs (see VALIDATION_ONLY). */
export function listedSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(listedSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (VALIDATION_ONLY.has(k)) continue;
    // Unknown fields are refused by name on the call; a false default is what leaving one out means.
    if ((k === 'additionalProperties' || k === 'default') && v === false) continue;
    if (k === 'default' && Array.isArray(v) && v.length === 0) continue;
    // An empty `properties` and an `additionalProperties` of {} say what an object says anyway.
    if ((k === 'properties' || k === 'additionalProperties') && v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([name, p]) => [name, listedSchema(p)])) : listedSchema(v);
  }
  // A union of strings that differ only in their patterns reads as one string to the model.
  const any = out.anyOf as Record<string, unknown>[] | undefined;
  if (any && any.every((b) => b.type === 'string' && !('enum' in b) && Object.keys(b).length <= 2)) {
    delete out.anyOf;
    out.type = 'string';
  }
  return out;
}

/** Removes the noise zod adds to JSON Schema that clients do not need (keeps tools/list small). */
function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  if (io === 'input') return listedSchema(js) as Tool['inputSchema'];
  return leanOutput(js) as Tool['inputSchema'];
}

/**
 * An output schema as clients need it to check structuredContent: the shapes, without prose (the
 * model reads the result, not its schema) and without closing objects to more fields, so a field
 * added later never makes an older client reject an answer.
 */
function leanOutput(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(leanOutput);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'description' || k === 'propertyNames' || (k === 'additionalProperties' && v === false)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([name, p]) => [name, leanOutput(p)])) : leanOutput(v);
  }
  return out;
}

function annotations(def: AnyTool): Tool['annotations'] {
  // The title is the tool's own `title`; repeating it here would only cost bytes.
  return {
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

/** Each field's default value, for the fields that have one. */
function defaultsOf(shape: z.ZodRawShape): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) if (schema instanceof z.ZodDefault) out[key] = schema.def.defaultValue;
  return out;
}

/** A tool's action table names only its actions and its fields: a typo there fails at start-up, not in a call. */
function checkActionTable(def: AnyTool): void {
  const { table, always = [] } = def.actions!;
  const enumerated = (def.input.action as { options?: readonly string[]; def?: { innerType?: { options?: readonly string[] } } } | undefined);
  const actions = enumerated?.options ?? enumerated?.def?.innerType?.options;
  if (!actions) throw new Error(`tool ${def.name} has an action table but no "action" enum`);
  for (const action of actions) if (!table[action]) throw new Error(`tool ${def.name}: action "${action}" is missing from its action table`);
  for (const [action, spec] of Object.entries(table)) {
    if (!actions.includes(action)) throw new Error(`tool ${def.name}: its action table names "${action}", which is not an action`);
    for (const field of [...(spec.needs ?? []), ...(spec.takes ?? []), ...(spec.oneOf ?? []), ...always]) {
      if (!(field in def.input) || field === 'action') throw new Error(`tool ${def.name}: action "${action}" names "${field}", which is not a field`);
    }
  }
}

function buildRegistrations(tools: AnyTool[]): Map<string, Registered> {
  const map = new Map<string, Registered>();
  for (const def of tools) {
    if (!TOOL_NAME.test(def.name)) throw new Error(`tool name ${JSON.stringify(def.name)} must match ${TOOL_NAME}`);
    if (map.has(def.name)) throw new Error(`tool ${def.name} is registered twice`);
    if (!def.output && !def.plainText) throw new Error(`tool ${def.name} needs an output schema`);
    if (def.output && def.plainText) throw new Error(`tool ${def.name}: plain-text results need a tool without an output schema (clients expect structuredContent from one)`);
    const input = z.strictObject(def.input);
    if (def.actions) checkActionTable(def);
    map.set(def.name, {
      def,
      input,
      defaults: defaultsOf(def.input),
      listing: {
        name: def.name,
        title: def.title,
        description: def.description,
        inputSchema: jsonSchema(input, 'input'),
        ...(def.output ? { outputSchema: jsonSchema(z.object(def.output), 'output') as Tool['outputSchema'] } : {}),
        annotations: annotations(def),
      },
    });
  }
  return map;
}

/**
 * What a list of tools costs in `tools/list`, in UTF-8 bytes of JSON: `visible` is what the model
 * reads (each tool's name, description and input schema), `whole` the answer as sent (with titles,
 * annotations and output schemas, which clients use and models mostly do not see).
 */
export function toolListBytes(tools: AnyTool[]): { visible: number; whole: number } {
  const listing = [...register(tools).values()].map((r) => r.listing);
  return listingBytes(listing);
}

/** The same figures for a `tools/list` answer as a client received it. */
export function listingBytes(listing: readonly Tool[]): { visible: number; whole: number } {
  const visible = Buffer.byteLength(JSON.stringify(listing.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema }))));
  return { visible, whole: Buffer.byteLength(JSON.stringify({ tools: listing })) };
}

/** One readable sentence from a zod error: which field, what is wrong (and what was given), what to change. */
export function describeInputError(tool: string, error: z.ZodError): string {
  return `Invalid arguments for ${tool}: ${describeIssues(error)}.`;
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** Characters of a resource per `resources/read` answer, as a note read pages notes; `?page=N` reads on. */
export const RESOURCE_PAGE_CHARS = 20_000;
/** Most values one completion answer carries (the specification's limit). */
const MAX_COMPLETIONS = 100;

/** Splits `?page=N` (or `&page=N`) off a resource URI; providers never see it. */
function splitPage(uri: string): { base: string; page: number } {
  const q = uri.indexOf('?');
  if (q === -1) return { base: uri, page: 1 };
  let page = 1;
  const rest = uri
    .slice(q + 1)
    .split('&')
    .filter((part) => {
      if (!part.startsWith('page=')) return true;
      const n = Number(part.slice(5));
      if (!Number.isSafeInteger(n) || n < 1) throw new ProtocolError(ErrorCode.InvalidParams, `"page" in ${uri} must be a whole number from 1.`);
      page = n;
      return false;
    });
  return { base: rest.length ? `${uri.slice(0, q)}?${rest.join('&')}` : uri.slice(0, q), page };
}

function withPage(base: string, page: number): string {
  return `${base}${base.includes('?') ? '&' : '?'}page=${page}`;
}

/** A page boundary that does not split a surrogate pair (an emoji cut in half is not text). */
function boundary(text: string, i: number): number {
  if (i <= 0 || i >= text.length) return Math.min(Math.max(i, 0), text.length);
  const prev = text.charCodeAt(i - 1);
  return prev >= 0xd800 && prev <= 0xdbff ? i - 1 : i;
}

/** One page of a resource's text, with a last line saying where the next page is. */
export function pageOf(contents: { uri: string; mimeType: string; text: string }, uri: string, base: string, page: number) {
  const { text } = contents;
  if (page === 1 && text.length <= RESOURCE_PAGE_CHARS) return { ...contents, uri };
  const pages = Math.max(1, Math.ceil(text.length / RESOURCE_PAGE_CHARS));
  if (page > pages) throw new ProtocolError(ErrorCode.InvalidParams, `${base} has ${pages} page${pages === 1 ? '' : 's'}; page ${page} is past its end.`);
  const slice = text.slice(boundary(text, (page - 1) * RESOURCE_PAGE_CHARS), boundary(text, page * RESOURCE_PAGE_CHARS));
  const next = page < pages ? withPage(base, page + 1) : undefined;
  const note = next ? `\n\n[brain: page ${page} of ${pages}, ${text.length} characters in all; the next page is ${next}]` : '';
  return { uri, mimeType: contents.mimeType, text: slice + note, _meta: { 'brain/page': { page, pages, total_chars: text.length, ...(next ? { next } : {}) } } };
}

function completion(values: string[]) {
  const unique = [...new Set(values)];
  return { completion: { values: unique.slice(0, MAX_COMPLETIONS), total: unique.length, hasMore: unique.length > MAX_COMPLETIONS } };
}

export function createServer(deps: ServerDeps): { server: Server; session: SessionState; cleanup: () => void } {
  // Built on first use, not at connect: the initialize answer needs none of it.
  let registered: Map<string, Registered> | undefined;
  let listing: Tool[] | undefined;
  const tools = () => (registered ??= register(deps.tools));
  const session: SessionState = deps.newSession?.() ?? { id: null, project: '' };
  const prompts = new Map((deps.prompts ?? []).map((p) => [p.name, p]));
  const providers = deps.resources ?? [];
  const templates = new Map(providers.flatMap((p) => p.templates).map((t) => [t.uriTemplate, t]));
  const completes = [...prompts.values()].some((p) => p.arguments?.some((a) => a.complete)) || [...templates.values()].some((t) => t.complete);
  const server = new Server(
    { name: deps.name, version: deps.version },
    {
      capabilities: {
        tools: {},
        logging: {},
        ...(providers.length ? { resources: {} } : {}),
        ...(prompts.size ? { prompts: {} } : {}),
        ...(completes ? { completions: {} } : {}),
      },
      instructions: deps.instructions,
    },
  );

  /** An area's error during a protocol request: its UserErrors are the client's to fix; anything else is logged. */
  function areaError(what: string, err: unknown, uri?: string): ProtocolError {
    if (err instanceof ProtocolError) return err;
    if (err instanceof NotFoundError && uri) return new ProtocolError(RESOURCE_NOT_FOUND, err.message, { uri });
    if (err instanceof UserError) return new ProtocolError(ErrorCode.InvalidParams, err.message);
    deps.logger.error(`${what} failed`, { error: (err as Error).stack ?? String(err) });
    return new ProtocolError(ErrorCode.InternalError, `brain could not ${what}; the details are in brain's error log.`);
  }
  function fromArea<T>(what: string, run: () => T, uri?: string): T {
    try {
      return run();
    } catch (err) {
      throw areaError(what, err, uri);
    }
  }

  if (prompts.size) {
    server.setRequestHandler(ListPromptsRequestSchema, async () => ({
      prompts: [...prompts.values()].map(({ name, title, description, arguments: args }) => ({
        name,
        title,
        description,
        arguments: args?.map(({ name, description, required }) => ({ name, description, required })),
      })),
    }));
    server.setRequestHandler(GetPromptRequestSchema, async (request) => {
      const prompt = prompts.get(request.params.name);
      if (!prompt) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown prompt "${request.params.name}"; prompts/list shows what brain offers.`);
      let text: string;
      try {
        text = await prompt.get(request.params.arguments ?? {}, session);
      } catch (err) {
        throw areaError(`build the prompt ${prompt.name}`, err);
      }
      return { description: prompt.description, messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] };
    });
  }

  if (providers.length) {
    server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: providers.flatMap((p) => p.list(session)) }));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
      resourceTemplates: [...templates.values()].map(({ complete: _complete, ...listed }) => listed),
    }));
    server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      const uri = request.params.uri;
      const { base, page } = splitPage(uri);
      const contents = fromArea(
        `read ${base}`,
        () => {
          for (const p of providers) {
            const found = p.read(base, session);
            if (found) return found;
          }
          return undefined;
        },
        uri,
      );
      if (!contents) {
        throw new ProtocolError(RESOURCE_NOT_FOUND, `Unknown resource ${uri}; resources/templates/list shows the URI forms brain serves.`, { uri });
      }
      return { contents: [pageOf(contents, uri, base, page)] };
    });
  }

  if (completes) {
    server.setRequestHandler(CompleteRequestSchema, async (request) => {
      const { ref, argument, context } = request.params;
      const chosen = context?.arguments ?? {};
      if (ref.type === 'ref/prompt') {
        const prompt = prompts.get(ref.name);
        if (!prompt) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown prompt "${ref.name}"; prompts/list shows what brain offers.`);
        const arg = prompt.arguments?.find((a) => a.name === argument.name);
        if (!arg) throw new ProtocolError(ErrorCode.InvalidParams, `The prompt ${prompt.name} has no argument "${argument.name}" (it has: ${prompt.arguments?.map((a) => a.name).join(', ') || 'none'}).`);
        return completion(arg.complete ? fromArea(`complete ${prompt.name} ${arg.name}`, () => arg.complete!(argument.value, chosen, session)) : []);
      }
      const template = templates.get(ref.uri);
      if (!template) throw new ProtocolError(ErrorCode.InvalidParams, `Unknown resource template ${ref.uri}; resources/templates/list shows the ones brain serves.`);
      const complete = template.complete?.[argument.name];
      return completion(complete ? fromArea(`complete ${template.name} ${argument.name}`, () => complete(argument.value, chosen, session)) : []);
    });
  }

  // Log messages: only the level this session asked for and above (until it asks, info and up).
  let logLevel: LogLevel = 'info';
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    logLevel = request.params.level;
    return {};
  });
  const sendNotice = (notice: Notice) => {
    if (severity(notice.level) < severity(logLevel)) return;
    const data = notice.data ? { message: notice.message, ...notice.data } : notice.message;
    server.notification({ method: 'notifications/message', params: { level: notice.level, logger: 'brain', data } }).catch(() => {
      // The session is closing; it no longer needs the warning.
    });
  };
  let unsubscribe: (() => void) | undefined;

  server.oninitialized = () => {
    session.clientName = server.getClientVersion()?.name;
    // Only after `initialized`: the specification has the server send nothing but pings before it.
    unsubscribe ??= deps.notices?.subscribe(sendNotice);
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (listing ??= [...tools().values()].map((r) => r.listing)) }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const name = request.params.name;
    const tool = tools().get(name);
    const off = tool ? undefined : deps.disabled?.get(name);
    if (off) {
      deps.metrics.toolErrors.inc({ tool: name, kind: 'user' });
      return errorResult(off);
    }
    if (!tool) {
      // A JSON-RPC error, as the specification's example for an unknown tool has it: the call
      // never reached a tool, so there is no tool result to flag with isError.
      throw new ProtocolError(ErrorCode.InvalidParams, `Unknown tool "${name}". Available tools: ${[...tools().keys()].join(', ')}.`);
    }
    const started = process.hrtime.bigint();
    let status = 'ok';
    try {
      const parsed = tool.input.safeParse(request.params.arguments ?? {}, REPORT_INPUT);
      if (!parsed.success) {
        status = 'invalid';
        deps.metrics.toolErrors.inc({ tool: name, kind: 'user' });
        return errorResult(describeInputError(name, parsed.error));
      }
      if (tool.def.actions) checkActionFields(name, (parsed.data as { action: string }).action, tool.def.actions, request.params.arguments ?? {}, tool.defaults);
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
      const plain = tool.def.plainText?.(structured);
      if (plain !== undefined) return { content: [{ type: 'text', text: plain }] };
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

  const end = () => {
    unsubscribe?.();
    deps.onClose?.(session);
  };
  server.onclose = end;
  return { server, session, cleanup: end };
}
