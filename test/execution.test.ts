// execute and executions over real stdio, with real sandboxes: results, limits, workspace,
// images, paging, cancellation and progress.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { detectHost, isProblem } from '../src/execution/host.js';
import { brainEnv, call, callError, startBrain, tempDir, testConfig, type Connected } from './helpers/brain.js';
import { eventually, SANDBOX_LIMITS, sandboxProcesses, type Exec } from './helpers/sandbox.js';

let dir: string;
let brain: Connected;
let workspaceRoot: string;
let imageRoot: string;
/** A second brain with a tiny image cap. */
let big: Connected;
let bigDir: string;
let bigWorkspaces: string;


/**
 * Reads a stream page by page with executions {id, stream, offset}: each page is a text block
 * alone, its last line saying where it sits and where the next one starts.
 */
async function pageThrough(id: number, stream: 'stdout' | 'stderr', seen?: (pageBytes: number, responseBytes: number) => void): Promise<string> {
  let text = '';
  let offset: number | undefined = 0;
  while (offset !== undefined) {
    const result = await brain.client.callTool({ name: 'executions', arguments: { id, stream, offset } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toBeUndefined();
    const block = (result.content as { type: string; text: string }[])[0].text;
    const m = /\n\n\[brain: (stdout|stderr) of execution (\d+), bytes (\d+)-(\d+) of (\d+); (?:the next page is executions (\{.*\})|the end)\]$/.exec(block);
    expect(m, block.slice(-200)).not.toBeNull();
    expect([m![1], Number(m![2]), Number(m![3])]).toEqual([stream, id, offset]);
    const page = block.slice(0, m!.index);
    expect(Buffer.byteLength(page)).toBe(Number(m![4]) - offset);
    seen?.(Buffer.byteLength(page), Buffer.byteLength(JSON.stringify(result)));
    text += page;
    offset = m![6] ? (JSON.parse(m![6]) as { offset: number }).offset : undefined;
  }
  return text;
}

beforeAll(async () => {
  dir = tempDir();
  const extra = { ...SANDBOX_LIMITS, BRAIN_EXECUTION_INLINE_KB: '2' };
  const host = detectHost(testConfig(dir, extra));
  if (isProblem(host)) throw new Error(`the sandbox is unavailable on this machine: ${host.reason}; fix: ${host.fix}`);
  workspaceRoot = host.workspaceRoot;
  imageRoot = host.imageRoot;
  brain = await startBrain(brainEnv(dir, extra));
  bigDir = tempDir();
  const bigExtra = { ...SANDBOX_LIMITS, BRAIN_MAX_IMAGE_KB: '1', BRAIN_SANDBOX_WARM: '0' };
  const bigHost = detectHost(testConfig(bigDir, bigExtra));
  if (isProblem(bigHost)) throw new Error(bigHost.reason);
  bigWorkspaces = bigHost.workspaceRoot;
  big = await startBrain(brainEnv(bigDir, bigExtra));
});

afterAll(async () => {
  await big?.close();
  fs.rmSync(bigDir, { recursive: true, force: true });
  fs.rmSync(bigWorkspaces, { recursive: true, force: true });
  await brain?.close();
  await eventually(() => sandboxProcesses(workspaceRoot), (p) => p.length === 0, 10_000);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(workspaceRoot, { recursive: true, force: true });
});

describe('execute', () => {
  it('execute: runs Python and returns its output, exit code and timings', async () => {
    const r = await call<Exec & { cpu_ms: number; max_rss_kb: number }>(brain.client, 'execute', { code: 'import sys\nprint("hello", 6 * 7)\nprint("oops", file=sys.stderr)' });
    expect(r).toMatchObject({ status: 'succeeded', exit_code: 0, stdout: 'hello 42\n', stderr: 'oops\n', truncated: false });
    expect(r.wall_ms).toBeGreaterThan(0);
    expect(r.max_rss_kb).toBeGreaterThan(1000);
  });

  it('execute: a failing program is failed with its traceback; sys.exit code is kept', async () => {
    const r = await call<Exec>(brain.client, 'execute', { code: 'def f():\n    raise ValueError("bad input")\nf()' });
    expect(r.status).toBe('failed');
    expect(r.exit_code).toBe(1);
    expect(r.stderr).toMatch(/ValueError: bad input/);
    expect(r.stderr).not.toMatch(/brain-runner/);
    const e = await call<Exec>(brain.client, 'execute', { code: 'import sys; sys.exit(3)' });
    expect(e).toMatchObject({ status: 'failed', exit_code: 3 });
  });

  it('execute: stdin, bash, and input files in the workspace; files persist per project', async () => {
    const r = await call<Exec>(brain.client, 'execute', {
      code: 'import sys\nprint(sys.stdin.read().upper())\nprint(open("data/in.txt").read())\nopen("out.csv", "w").write("a,b\\n1,2\\n")',
      stdin: 'from stdin',
      files: [{ path: 'data/in.txt', content: 'from a file' }],
      project: 'proj-a',
    });
    expect(r.status).toBe('succeeded');
    expect(r.stdout).toBe('FROM STDIN\nfrom a file\n');
    expect(r.files).toEqual(expect.arrayContaining([{ path: 'out.csv', size: 8, change: 'created' }]));
    const again = await call<Exec>(brain.client, 'execute', { code: 'print(open("out.csv").read())', project: 'proj-a' });
    expect(again.stdout).toBe('a,b\n1,2\n\n');
    const other = await call<Exec>(brain.client, 'execute', { code: 'import os; print(os.path.exists("out.csv"))', project: 'proj-b' });
    expect(other.stdout).toBe('False\n');
    const sh = await call<Exec>(brain.client, 'execute', { code: 'echo "$((6*7))"; cat; ls out.csv', language: 'bash', stdin: 'piped', project: 'proj-a' });
    expect(sh).toMatchObject({ status: 'succeeded', stdout: '42\npipedout.csv\n' });
  });

  it('execute: every execution gets a fresh sandbox (nothing left in /tmp or memory from the last one)', async () => {
    const first = await call<Exec>(brain.client, 'execute', { code: 'import os, builtins\nopen("/tmp/left-behind", "w").write("x")\nbuiltins.LEFT = 1\nprint(os.getpid())', project: 'fresh' });
    const second = await call<Exec>(brain.client, 'execute', { code: 'import os, builtins\nprint(os.path.exists("/tmp/left-behind"), hasattr(builtins, "LEFT"))', project: 'fresh' });
    expect(first.status).toBe('succeeded');
    expect(second.stdout).toBe('False False\n');
  });

  it('execute: input paths leaving the workspace or through a symlink are refused', async () => {
    expect(await callError(brain.client, 'execute', { code: 'print(1)', files: [{ path: '../escape.txt', content: 'x' }] })).toMatch(/relative path inside the workspace/);
    expect(await callError(brain.client, 'execute', { code: 'print(1)', files: [{ path: '/etc/passwd', content: 'x' }] })).toMatch(/relative path inside the workspace/);
    await call(brain.client, 'execute', { code: 'import os\nos.symlink("/etc", "link")', project: 'proj-link' });
    const r = await call<Exec>(brain.client, 'execute', { code: 'print(1)', project: 'proj-link', files: [{ path: 'link/evil.txt', content: 'x' }] });
    expect(r.status).toBe('failed');
    expect(r.stderr).toMatch(/refused/);
  });

  it('executions: a page costs what it holds (no record, no second copy), and pages end on whole characters', async () => {
    // 20,000 lines with two- and three-byte characters: 32 KB pages cut through them.
    const r = await call<Exec>(brain.client, 'execute', { code: 'for i in range(20000): print("línea", i, "€ ü")' });
    expect(r.status).toBe('succeeded');
    const full = Array.from({ length: 20000 }, (_, i) => `línea ${i} € ü\n`).join('');
    expect(r.stdout_bytes).toBe(Buffer.byteLength(full));
    const record = await call<{ execution: { id: number; stdout: string; stdout_bytes: number } }>(brain.client, 'executions', { id: r.execution_id });
    expect(record.execution).toMatchObject({ id: r.execution_id, stdout_bytes: Buffer.byteLength(full) });
    expect(record).not.toHaveProperty('output');
    const sizes: { page: number; response: number }[] = [];
    const text = await pageThrough(r.execution_id, 'stdout', (page, response) => sizes.push({ page, response }));
    expect(text).toBe(full);
    expect(sizes.length).toBeGreaterThan(5);
    // The whole answer (JSON-RPC result, escaping and the line saying where the page sits) is the
    // page plus a little: one copy of it, neither the record nor the inline output beside it.
    for (const { page, response } of sizes) expect(response).toBeLessThan(page * 1.1 + 300);
  });

  it('execute: big output comes back as head and tail; executions pages the full output', async () => {
    const r = await call<Exec>(brain.client, 'execute', { code: 'for i in range(20000): print("line", i)' });
    expect(r.status).toBe('succeeded');
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThan(3000);
    expect(r.stdout).toMatch(/^line 0\n/);
    expect(r.stdout).toMatch(/line 19999\n$/);
    expect(r.stdout).toMatch(/bytes omitted/);
    const full = Array.from({ length: 20000 }, (_, i) => `line ${i}\n`).join('');
    expect(r.stdout_bytes).toBe(full.length);
    expect(await pageThrough(r.execution_id, 'stdout')).toBe(full);
    // The same capture as resources: the execution as JSON, the output in pages by byte offset.
    const detail = await brain.client.readResource({ uri: `brain://executions/${r.execution_id}` });
    expect(JSON.parse((detail.contents[0] as { text: string }).text)).toMatchObject({ id: r.execution_id, status: 'succeeded', stdout_bytes: full.length });
    // Pages of 16 KB, each ending with a line naming the next one, until the capture ends.
    let uri: string | undefined = `brain://executions/${r.execution_id}/stdout?offset=100000`;
    let paged = '';
    while (uri) {
      const page = ((await brain.client.readResource({ uri })).contents[0] as { text: string }).text;
      const next = /\n\n\[brain: bytes \d+-\d+ of \d+; the next page is (\S+)\]$/.exec(page);
      paged += next ? page.slice(0, next.index) : page;
      uri = next?.[1];
    }
    expect(paged).toBe(full.slice(100000));
    const { resourceTemplates } = await brain.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('brain://executions/{id}/{stream}{?offset}');
  });

  it('execute: a matplotlib figure comes back as a PNG image block', async () => {
    const result = (await brain.client.callTool({
      name: 'execute',
      arguments: { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title("squares")\nprint("plotted")' },
    }, CallToolResultSchema, { timeout: 60_000 })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'succeeded', images: 1 });
    const image = result.content.find((c) => c.type === 'image') as { data: string; mimeType: string };
    expect(image.mimeType).toBe('image/png');
    expect(Buffer.from(image.data, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });

  it('execute: figures over the size cap are not returned, and the answer says so', async () => {
    const r = await call<Exec>(big.client, 'execute', { code: 'import matplotlib.pyplot as plt, numpy as np\nplt.figure(figsize=(20, 20))\nplt.imshow(np.random.rand(600, 600))\nprint("done")' });
    expect(r).toMatchObject({ status: 'succeeded', images: 0 });
    expect(r.stderr).toBe('');
    expect((r as Exec & { note?: string }).note).toMatch(/1 figure\(s\) larger than BRAIN_MAX_IMAGE_KB \(1 KB\)/);
  });

  it('execute: numpy and pandas are usable inside the sandbox', async () => {
    const r = await call<Exec>(brain.client, 'execute', { code: 'import numpy as np, pandas as pd\nprint(int(np.arange(10).sum()), pd.DataFrame({"a": [1, 2]}).a.sum())' });
    expect(r).toMatchObject({ status: 'succeeded', stdout: '45 3\n' });
  });

  it('execute: timeout_ms ends the program with status timeout', async () => {
    const r = await call<Exec>(brain.client, 'execute', { code: 'import time\nprint("start", flush=True)\ntime.sleep(60)', timeout_ms: 500 });
    expect(r.status).toBe('timeout');
    expect(r.stdout).toBe('start\n');
    expect(r.wall_ms).toBeLessThan(3000);
    // Operators find it among brain's events; a plain non-zero exit (the test above) is not one.
    const ev = await call<{ events: { type: string; severity: string; message: string; details?: { execution_id: number } }[] }>(brain.client, 'events', { type: ['execution.timeout', 'execution.oom'] });
    expect(ev.events).toHaveLength(1);
    expect(ev.events[0]).toMatchObject({ type: 'execution.timeout', severity: 'warning', details: { execution_id: r.execution_id } });
    expect(ev.events[0].message).toMatch(/timed out after \d+ ms/);
  });

  it('execute: cancellation kills the sandbox and records cancelled; progress is reported', async () => {
    const controller = new AbortController();
    const progress: number[] = [];
    const pending = brain.client.callTool(
      { name: 'execute', arguments: { code: 'import time\nprint("working", flush=True)\ntime.sleep(60)', project: 'cancel-me' } },
      CallToolResultSchema,
      { signal: controller.signal, onprogress: (p) => progress.push(p.progress), timeout: 60_000 },
    );
    await eventually(() => progress.length, (n) => n >= 1, 15_000);
    controller.abort('test cancels');
    await expect(pending).rejects.toThrow();
    expect(progress.length).toBeGreaterThan(0);
    const latest = () => call<{ executions: { status: string }[] }>(brain.client, 'executions', { project: 'cancel-me' });
    let status = (await latest()).executions[0].status;
    for (let i = 0; i < 100 && status !== 'cancelled'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await latest()).executions[0].status;
    }
    expect(status).toBe('cancelled');
  });

  it('executions: lists by status and project, newest first, with paging', async () => {
    const failed = await call<{ executions: { status: string }[] }>(brain.client, 'executions', { status: 'failed', project: '*' });
    expect(failed.executions.length).toBeGreaterThan(0);
    expect(failed.executions.every((e) => e.status === 'failed')).toBe(true);
    const page1 = await call<{ executions: { id: number }[]; next_before_id?: number }>(brain.client, 'executions', { project: '*' });
    expect(page1.executions).toHaveLength(10);
    expect(page1.next_before_id).toBeDefined();
    expect(page1.executions[0].id).toBeGreaterThan(page1.executions[1].id);
    const page2 = await call<{ executions: { id: number }[] }>(brain.client, 'executions', { project: '*', before_id: page1.next_before_id });
    expect(page2.executions[0].id).toBeLessThan(page1.executions[9].id);
    const recent = await call<{ executions: unknown[] }>(brain.client, 'executions', { project: '*', since: new Date(Date.now() + 60_000).toISOString() });
    expect(recent.executions).toEqual([]);
    expect(await callError(brain.client, 'executions', { id: 999999 })).toMatch(/No execution with id 999999/);
  });
});

describe('workspace location', () => {
  it('workspaces are per project under the data directory, entered by nobody else; as root each is a filesystem mounted only for brain', () => {
    expect(fs.statSync(workspaceRoot).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) {
      // Mounted in the namespace of brain's holder process, never on the host.
      expect(fs.existsSync(path.join(imageRoot, 'proj-a.ext4'))).toBe(true);
      expect(fs.readdirSync(path.join(workspaceRoot, 'proj-a'))).toEqual([]);
      expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(workspaceRoot);
    } else {
      expect(fs.existsSync(path.join(workspaceRoot, 'proj-a', 'out.csv'))).toBe(true);
      expect(fs.existsSync(path.join(workspaceRoot, 'proj-b', 'out.csv'))).toBe(false);
    }
  });
});
