// The execution tools: execute (run code in the sandbox) and executions (list past runs, inspect
// one, page through its full output).
import { z } from 'zod';
import { NotFoundError, UserError } from '../core/errors.js';
import { displayProject, readProjectArg, visibleProjects, writeProject, writeProjectArg } from '../core/scope.js';
import { dateArg, isoTime } from '../core/time.js';
import { defineTool, type AnyTool, type ContentBlock } from '../core/tool.js';
import { FINAL_STATUSES, type ExecutionRow } from './store.js';
import type { ExecutionService, InputFile } from './service.js';
import { inline, type Page } from './output.js';

const MAX_CODE_BYTES = 512 * 1024;
const MAX_STDIN_BYTES = 1024 * 1024;
const MAX_FILES = 32;
const MAX_FILES_BYTES = 8 * 1024 * 1024;
/** Bytes of stored output per page of `executions {id}`. */
const PAGE_BYTES = 32 * 1024;
const LIST_PAGE = 10;
/** Code shown when inspecting one execution (the answer must stay small). */
const CODE_CHARS = 16 * 1024;

/**
 * Result objects are described by their fields in the tool descriptions and README rather than
 * in full JSON Schema: every conversation pays for tools/list, and these shapes are only read.
 */
const loose = z.record(z.string(), z.unknown());

const STATUSES = ['queued', 'running', ...FINAL_STATUSES] as const;

const filePath = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((part) => part === '..' || part === '.' || part === '') && !/[\u0000-\u001f]/.test(p), {
    message: 'use a relative path inside the workspace, like "data/input.csv" (no "..", no leading "/")',
  });



function decodeFiles(files: { path: string; content: string; base64?: boolean }[]): InputFile[] {
  if (files.length > MAX_FILES) throw new UserError(`At most ${MAX_FILES} input files per execution; put more into an archive.`);
  let total = 0;
  const out = files.map((f) => {
    const data = f.base64 ? Buffer.from(f.content, 'base64') : Buffer.from(f.content, 'utf8');
    total += data.length;
    return { path: f.path, data };
  });
  if (total > MAX_FILES_BYTES) throw new UserError(`Input files total ${total} bytes; the limit is ${MAX_FILES_BYTES}. Send fewer or smaller files.`);
  return out;
}

function summary(row: ExecutionRow) {
  return {
    id: row.id,
    status: row.status,
    language: row.language,
    project: displayProject(row.project),
    exit_code: row.exit_code,
    wall_ms: row.wall_ms === null ? null : Math.round(row.wall_ms),
    created_at: isoTime(row.created_at),
    code: row.code.length > 120 ? row.code.slice(0, 120) + '…' : row.code,
  };
}

type OutputPage = Page & { id: number; stream: 'stdout' | 'stderr' };

/**
 * A page of output as the model reads it: the bytes themselves, then one line saying where they
 * sit and how to get the next page (the shape brain://executions/<id>/<stream> pages have).
 */
function pageText(p: OutputPage): string {
  const where = `${p.stream} of execution ${p.id}, bytes ${p.offset}-${p.offset + p.length} of ${p.total}`;
  const next = p.next_offset === undefined ? 'the end' : `the next page is executions {"id": ${p.id}, "stream": "${p.stream}", "offset": ${p.next_offset}}`;
  return `${p.text}\n\n[brain: ${where}; ${next}]`;
}

export function executionTools(executions: ExecutionService): AnyTool[] {
  const execute = defineTool({
    name: 'execute',
    title: 'Run code',
    description:
      'Run Python 3 (numpy, pandas, matplotlib) or bash in a sandbox without network, to compute, test or plot. Files persist per project; figures come back as images.',
    kind: 'write',
    openWorld: true,
    input: {
      code: z.string().min(1, 'code cannot be empty'),
      language: z.enum(['python', 'bash']).default('python'),
      timeout_ms: z.number().optional(),
      stdin: z.string().optional(),
      files: z
        .array(z.object({ path: filePath, content: z.string(), base64: z.boolean().optional() }))
        .optional()
        .describe('Written into the workspace first (relative paths).'),
      project: writeProjectArg,
    },
    output: {
      execution_id: z.number(),
      status: z.string(),
      exit_code: z.number().nullable(),
      stdout: z.string(),
      stderr: z.string(),
      truncated: z.boolean(),
      stdout_bytes: z.number().optional(),
      stderr_bytes: z.number().optional(),
      wall_ms: z.number(),
      cpu_ms: z.number().nullable(),
      max_rss_kb: z.number().nullable(),
      files: z.array(loose),
      images: z.number(),
      note: z.string().optional(),
    },
    async handle(args, ctx) {
      // Limits checked here rather than in the schema, which every conversation pays for.
      if (Buffer.byteLength(args.code) > MAX_CODE_BYTES) throw new UserError(`"code" is larger than ${MAX_CODE_BYTES} bytes; put data into files instead.`);
      if (args.stdin !== undefined && Buffer.byteLength(args.stdin) > MAX_STDIN_BYTES) throw new UserError(`"stdin" is larger than ${MAX_STDIN_BYTES} bytes; pass the data as a file.`);
      if (args.timeout_ms !== undefined && !(Number.isInteger(args.timeout_ms) && args.timeout_ms >= 100)) throw new UserError('"timeout_ms" is a whole number of milliseconds, at least 100.');
      const project = writeProject(args.project, ctx.session);
      const r = await executions.execute(
        {
          code: args.code,
          language: args.language,
          timeoutMs: args.timeout_ms,
          stdin: args.stdin,
          files: args.files ? decodeFiles(args.files) : undefined,
          project,
          sessionId: ctx.session.id,
        },
        { signal: ctx.signal, progress: ctx.progress },
      );
      imageStash.set(r.execution_id, r.images);
      return {
        execution_id: r.execution_id,
        status: r.status,
        exit_code: r.exit_code,
        stdout: r.stdout,
        stderr: r.stderr,
        truncated: r.truncated,
        // Sizes only matter when something was cut: they say how far to page.
        ...(r.truncated ? { stdout_bytes: r.stdout_bytes, stderr_bytes: r.stderr_bytes } : {}),
        wall_ms: r.wall_ms,
        cpu_ms: r.cpu_ms,
        max_rss_kb: r.max_rss_kb,
        files: r.files,
        images: r.images.length,
        ...(r.note ? { note: r.note } : {}),
      };
    },
    extraContent(result): ContentBlock[] {
      // Images travel beside the JSON (not inside it), so the structured result stays small.
      const images = imageStash.get(result.execution_id) ?? [];
      imageStash.delete(result.execution_id);
      return images.map((img) => ({ type: 'image' as const, data: img.data, mimeType: 'image/png' }));
    },
  });

  /** Figures of the call in flight, handed from handle() to extraContent() of the same call. */
  const imageStash = new Map<number, { data: string }[]>();

  // No output schema: a page of output goes out as plain text (see plainText), which a client
  // refuses from a tool that declares one. Lists and records are structured as everywhere else.
  const list = defineTool({
    name: 'executions',
    title: 'Past executions',
    description: 'Past code executions, newest first; with id, one in full; with id and stream or offset, a page of its output.',
    kind: 'read',
    input: {
      id: z.number().optional(),
      stream: z.enum(['stdout', 'stderr']).optional(),
      offset: z.number().optional().describe('Byte offset in the stream.'),
      status: z.enum(STATUSES).optional(),
      project: readProjectArg,
      since: dateArg.optional(),
      before_id: z.number().optional().describe('next_before_id of the last page.'),
    },
    handle(args, ctx) {
      const projects = visibleProjects(args.project, ctx.session);
      if (args.id !== undefined) {
        const row = executions.get(args.id);
        if (!row || (projects && args.project !== undefined && !projects.includes(row.project))) {
          throw new NotFoundError(`No execution with id ${args.id}; list them with executions {} (add "project": "*" to see every project).`);
        }
        if (args.stream !== undefined || args.offset !== undefined) {
          // A page carries only itself and where it sits: the record was read once already.
          const stream = args.stream ?? 'stdout';
          const page = executions.readOutput(row.id, stream, Math.max(0, Math.floor(args.offset ?? 0)), PAGE_BYTES);
          const stored = stream === 'stdout' ? row.stdout_stored : row.stderr_stored;
          return { page: { id: row.id, stream, ...page, total: Math.max(page.total, stored) } };
        }
        return {
          execution: {
            id: row.id,
            status: row.status,
            language: row.language,
            project: displayProject(row.project),
            code: row.code.length > CODE_CHARS ? row.code.slice(0, CODE_CHARS) + '…' : row.code,
            exit_code: row.exit_code,
            signal: row.signal,
            error: row.error,
            stdout: inline(row.stdout_head ?? '', row.stdout_tail ?? '', row.stdout_bytes, row.id, 'stdout'),
            stderr: inline(row.stderr_head ?? '', row.stderr_tail ?? '', row.stderr_bytes, row.id, 'stderr'),
            stdout_bytes: row.stdout_bytes,
            stderr_bytes: row.stderr_bytes,
            files: JSON.parse(row.files),
            timeout_ms: row.timeout_ms,
            queue_ms: row.queue_ms,
            wall_ms: row.wall_ms,
            cpu_ms: row.cpu_ms,
            max_rss_kb: row.max_rss_kb,
            created_at: isoTime(row.created_at),
            finished_at: isoTime(row.finished_at),
          },
        };
      }
      const rows = executions.list({ projects, status: args.status, since: args.since, beforeId: args.before_id, limit: LIST_PAGE + 1 });
      const more = rows.length > LIST_PAGE;
      const shown = rows.slice(0, LIST_PAGE);
      return { executions: shown.map(summary), next_before_id: more ? shown[shown.length - 1].id : undefined };
    },
    plainText(result) {
      return result.page ? pageText(result.page as OutputPage) : undefined;
    },
  });

  return [execute, list];
}
