// What brain accepts as a JSON-RPC message, and the error a client gets for anything else. The
// SDK drops a message it cannot parse without a word, and its client then waits for an answer
// that never comes; here every request that can be answered is answered, with the code JSON-RPC
// names: -32700 not JSON, -32600 not a valid request, -32602 the parameters are wrong. Every
// transport (stdio, the daemon's socket, HTTP) runs client input through `checkMessage`.
import {
  ClientRequestSchema,
  ErrorCode,
  JSONRPCErrorResponseSchema,
  JSONRPCNotificationSchema,
  JSONRPCRequestSchema,
  JSONRPCResultResponseSchema,
  type JSONRPCErrorResponse,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { describeIssues, REPORT_INPUT, shown } from './input-errors.js';

/** The largest JSON-RPC message brain reads (the SDK's stdio limit; the HTTP body limit too). */
export const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;
/** Deeper parameters than this are refused: nothing brain takes nests more than a few levels, and very deep values overflow the stack of whatever walks them next. */
export const MAX_DEPTH = 64;
/** MCP's code for a resource that does not exist (the specification's, not JSON-RPC's). */
export const RESOURCE_NOT_FOUND = -32002;

/**
 * An error answered as a JSON-RPC error with this code. Unlike the SDK's McpError its message
 * carries no "MCP error -32602:" prefix: the client's own error class adds that once.
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type Checked =
  | { message: JSONRPCMessage; reply?: undefined; problem?: undefined }
  | { message?: undefined; problem: string; reply?: JSONRPCErrorResponse };

export function errorReply(id: RequestId | null, code: number, message: string): JSONRPCErrorResponse {
  // The SDK types `id` as optional; JSON-RPC wants null when the request's id could not be read.
  return { jsonrpc: '2.0', id: id as RequestId, error: { code, message } };
}

let methodSchemas: Map<string, z.ZodType> | undefined;
/** The SDK's schema of every request a client may send, by method. */
function schemaFor(method: string): z.ZodType | undefined {
  methodSchemas ??= new Map(
    ClientRequestSchema.options.map((schema) => [(schema.shape.method as unknown as { value: string }).value, schema as unknown as z.ZodType]),
  );
  return methodSchemas.get(method);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where `root` nests deeper than `max` levels (a path to show), or undefined. Iterative: a recursive walk is what overflows. */
export function tooDeep(root: unknown, max: number, name: string): string | undefined {
  const stack: [unknown, number, string][] = [[root, 0, name]];
  while (stack.length) {
    const [value, depth, path] = stack.pop()!;
    if (depth > max) return path;
    for (const [key, child] of Object.entries(value as object)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1, depth < 4 ? `${path}.${key}` : path]);
    }
  }
  return undefined;
}

function refuse(id: RequestId | null, code: number, problem: string): Checked {
  return { problem, reply: errorReply(id, code, problem) };
}

/**
 * Checks one parsed message. `server`: the input comes from a client, so the parameters of known
 * methods are checked too. A problem with no reply is a notification or response that was
 * wrong (JSON-RPC answers neither); the caller logs it.
 */
export function checkMessage(value: unknown, server = true): Checked {
  if (Array.isArray(value)) {
    return refuse(null, ErrorCode.InvalidRequest, 'JSON-RPC batches are not supported (MCP 2025-06-18 removed them): send each request as its own message.');
  }
  if (!isObject(value)) return refuse(null, ErrorCode.InvalidRequest, `A JSON-RPC message is an object with "jsonrpc": "2.0"; got ${shown(value)}.`);
  const hasId = 'id' in value;
  const id = value.id;
  const replyId: RequestId | null = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : null;
  const isRequest = 'method' in value;
  // Responses and notifications are never answered; requests (a method and an id) always are.
  const answer = (code: number, problem: string): Checked => (isRequest && hasId ? refuse(replyId, code, problem) : { problem });
  if (value.jsonrpc !== '2.0') return answer(ErrorCode.InvalidRequest, `"jsonrpc" must be "2.0" (got ${shown(value.jsonrpc)}).`);

  if (!isRequest) {
    const clean = { jsonrpc: '2.0', id, ...('result' in value ? { result: value.result } : {}), ...('error' in value ? { error: value.error } : {}) };
    const ok = JSONRPCResultResponseSchema.safeParse(clean).success || JSONRPCErrorResponseSchema.safeParse(clean).success;
    if (ok) return { message: clean as JSONRPCMessage };
    return hasId && !('result' in value) && !('error' in value)
      ? refuse(replyId, ErrorCode.InvalidRequest, 'A JSON-RPC request needs a "method"; a response needs "result" or "error".')
      : { problem: `invalid JSON-RPC response ${shown(value)}` };
  }
  const method = value.method;
  if (typeof method !== 'string' || !method) return answer(ErrorCode.InvalidRequest, `"method" must be the method's name as text, e.g. "tools/call" (got ${shown(method)}).`);
  if (hasId && replyId === null) {
    return refuse(null, ErrorCode.InvalidRequest, `"id" must be a string or an integer (got ${shown(id)}); leave it out only for notifications.`);
  }
  const params = value.params;
  if ('params' in value && params !== undefined) {
    if (Array.isArray(params)) return answer(ErrorCode.InvalidParams, `"params" of ${method} must be an object of named parameters, not a list.`);
    if (!isObject(params)) return answer(ErrorCode.InvalidRequest, `"params" of ${method} must be an object (got ${shown(params)}).`);
    const deep = tooDeep(params, MAX_DEPTH, 'params');
    if (deep) return answer(ErrorCode.InvalidParams, `${deep} nests more than ${MAX_DEPTH} levels deep; brain accepts at most ${MAX_DEPTH}: flatten the data.`);
  }
  // Members JSON-RPC does not define are dropped rather than refused (the SDK's strict schemas
  // would otherwise discard the whole message without an answer).
  const clean = { jsonrpc: '2.0' as const, method, ...(hasId ? { id } : {}), ...(params !== undefined ? { params } : {}) };
  const envelope = hasId ? JSONRPCRequestSchema : JSONRPCNotificationSchema;
  const parsed = envelope.safeParse(clean, REPORT_INPUT);
  if (!parsed.success) return answer(ErrorCode.InvalidParams, `Invalid ${method} request: ${describeIssues(parsed.error as unknown as z.ZodError)}.`);
  if (server && hasId) {
    const schema = schemaFor(method);
    const checked = schema?.safeParse({ method, ...(params !== undefined ? { params } : {}) }, REPORT_INPUT);
    if (checked && !checked.success) return answer(ErrorCode.InvalidParams, `Invalid ${method} request: ${describeIssues(checked.error)}.`);
  }
  return { message: parsed.data as JSONRPCMessage };
}

/** Parses one line or body of JSON-RPC text (a leading byte-order mark is ignored, as RFC 8259 allows). */
export function checkText(text: string, server = true): Checked {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const why = err instanceof RangeError ? 'it nests too deeply to read' : (err as Error).message;
    return refuse(null, ErrorCode.ParseError, `The message is not valid JSON (${why}); send one JSON-RPC object per message.`);
  }
  return checkMessage(value, server);
}
