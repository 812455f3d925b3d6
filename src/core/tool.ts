// A tool is one plain object: name, title, description, kind, zod input/output shapes and a handler.
// src/core/server.ts registers every tool through one loop that adds annotations, validation,
// error mapping, metrics and logging, so areas only describe what their tools do.
import type { z } from 'zod';
import type { Logger } from './logger.js';
import type { ToolActions } from './tool-actions.js';

/**
 * What a tool does to stored state; the MCP annotations are derived from it.
 * - read: changes nothing the person would notice (access statistics may move).
 * - write: adds or changes data; calling twice has a different effect than once.
 * - idempotent: a write where repeating the same call changes nothing further.
 * - destructive: removes or overwrites data.
 */
export type ToolKind = 'read' | 'write' | 'idempotent' | 'destructive';

/** Per-connection state: which brain session and project this MCP connection is working in. */
export interface SessionState {
  /** brain's session id (set by `init`, or lazily by the first call that needs one). */
  id: string | null;
  /** Active project name, '' when working globally. */
  project: string;
  /** What the client said it is in `initialize` (e.g. "claude-code"). */
  clientName?: string;
}

export interface ToolContext {
  session: SessionState;
  /** Aborted when the client cancels the request or the connection closes. */
  signal: AbortSignal;
  /** Sends a progress notification if the client asked for progress; a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  logger: Logger;
}

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string };

export interface ToolDef<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  /** First sentence: when to use it. Keep it short: every conversation pays for tools/list. */
  description: string;
  kind: ToolKind;
  /** True only for tools that touch the world outside brain's data (code execution). */
  openWorld?: boolean;
  input: I;
  /**
   * The shape of structuredContent, declared to clients as outputSchema. Left out only by a tool
   * with `plainText` results: a client holds a tool that declares one to always answering with
   * structuredContent.
   */
  output?: O;
  handle(args: z.output<z.ZodObject<I>>, ctx: ToolContext): Promise<z.input<z.ZodObject<O>>> | z.input<z.ZodObject<O>>;
  /**
   * The text block for clients that read only `content` (default: the result as JSON). A tool
   * whose results are long lists renders them as compact text instead: the same facts in about
   * half the bytes and tokens, and without JSON escaping for the model to read through.
   */
  text?(result: z.output<z.ZodObject<O>>): string;
  /**
   * A result that is best sent as this text alone, without structuredContent (a page of program
   * output): clients show the model either the text or the structured copy, never both, so
   * sending both only doubles what the answer costs on the wire. Undefined: the usual answer.
   */
  plainText?(result: z.output<z.ZodObject<O>>): string | undefined;
  /** Extra content blocks beside the text (e.g. images produced by code). */
  extraContent?(result: z.output<z.ZodObject<O>>): ContentBlock[];
  /**
   * For a tool with an `action` field: the fields each action needs and takes. The server checks
   * what the caller wrote against it before `handle` runs (see tool-actions.ts).
   */
  actions?: ToolActions;
}

/** Identity helper: gives a tool object its types without repeating them. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

// Tools of different shapes live in one list; the registration loop only needs the common surface.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTool = ToolDef<any, any>;

export const TOOL_NAME = /^[a-z0-9_]{1,40}$/;
