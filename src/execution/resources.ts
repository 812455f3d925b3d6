// brain://executions/... : past executions as resources, for clients that show resources to the
// person (the executions tool is the assistant's way in). Output comes in pages, never whole: a
// capture can be 10 MB, and one page must fit in what core lets a resource read carry.
import { completeFrom, type ResourceProvider } from '../core/server.js';
import { NotFoundError } from '../core/errors.js';
import { displayProject } from '../core/scope.js';
import type { ExecutionService } from './service.js';

/** Bytes of output per page: with the line saying where the next page is, less than core's page, so core never splits it again. */
const PAGE_BYTES = 16 * 1024;
/** Recent executions offered when completing an id. */
const COMPLETION_POOL = 100;
const CODE_CHARS = 64 * 1024;
const URI = /^brain:\/\/executions\/(\d+)(?:\/(stdout|stderr))?(?:\?offset=(\d+))?$/;

export function executionResources(executions: ExecutionService): ResourceProvider {
  /** The active project's latest executions, newest first, whose id starts with what was typed. */
  const recentIds = (typed: string, _chosen: Record<string, string>, session: { project: string }) =>
    executions
      .list({ projects: [session.project], limit: COMPLETION_POOL })
      .map((r) => String(r.id))
      .filter((id) => id.startsWith(typed));
  return {
    templates: [
      {
        uriTemplate: 'brain://executions/{id}',
        name: 'execution',
        title: 'Execution',
        description: 'One past execution: code, status, timings, head and tail of its output (JSON).',
        mimeType: 'application/json',
        complete: { id: recentIds },
      },
      {
        uriTemplate: 'brain://executions/{id}/{stream}{?offset}',
        name: 'execution-output',
        title: 'Execution output',
        description: `Full stdout or stderr of an execution, ${PAGE_BYTES / 1024} KB per page from byte offset.`,
        mimeType: 'text/plain',
        complete: { id: recentIds, stream: (typed) => completeFrom(['stdout', 'stderr'], typed) },
      },
    ],
    list(session) {
      return executions.list({ projects: [session.project], limit: 5 }).map((r) => ({
        uri: `brain://executions/${r.id}`,
        name: `execution ${r.id}`,
        title: `Execution ${r.id} (${r.status})`,
        description: `${r.language} in ${displayProject(r.project)}: ${r.code.slice(0, 80)}`,
        mimeType: 'application/json',
      }));
    },
    read(uri) {
      const m = URI.exec(uri);
      if (!m) return undefined;
      const row = executions.get(Number(m[1]));
      if (!row) throw new NotFoundError(`No execution ${m[1]}.`);
      if (m[2]) {
        const stream = m[2] as 'stdout' | 'stderr';
        const page = executions.readOutput(row.id, stream, Number(m[3] ?? 0), PAGE_BYTES);
        const next = page.next_offset === undefined ? '' : `\n\n[brain: bytes ${page.offset}-${page.offset + page.length} of ${page.total}; the next page is brain://executions/${row.id}/${stream}?offset=${page.next_offset}]`;
        return { uri, mimeType: 'text/plain', text: page.text + next };
      }
      const { stdout_head, stdout_tail, stderr_head, stderr_tail, ...rest } = row;
      const detail = {
        ...rest,
        project: displayProject(row.project),
        code: row.code.length > CODE_CHARS ? row.code.slice(0, CODE_CHARS) + '…' : row.code,
        files: JSON.parse(row.files) as unknown,
        stdout: { head: stdout_head, tail: stdout_tail, uri: `brain://executions/${row.id}/stdout` },
        stderr: { head: stderr_head, tail: stderr_tail, uri: `brain://executions/${row.id}/stderr` },
      };
      return { uri, mimeType: 'application/json', text: JSON.stringify(detail, null, 1) };
    },
  };
}
