// What an execution reports is decided by brain, not by the sandboxed code: the status comes
// from the process, figures are checked before they are returned, every file the code made is
// listed, and a stop at a limit says which limit and how to raise it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { brainEnv, call, startBrain, tempDir, type Connected } from './helpers/brain.js';
import { SANDBOX_LIMITS, type Exec } from './helpers/sandbox.js';

let brain: Connected;

type Result = Exec & { note?: string; files: { path: string; size: number; change: string; escaped?: boolean }[] };

async function run(code: string, extra: Record<string, unknown> = {}): Promise<Result> {
  return call<Result>(brain.client, 'execute', { code, ...extra });
}

async function runWithImages(code: string): Promise<{ result: Result; images: Buffer[] }> {
  const r = (await brain.client.callTool({ name: 'execute', arguments: { code } }, CallToolResultSchema, { timeout: 60_000 })) as CallToolResult;
  expect(r.isError).toBeFalsy();
  const images = r.content.filter((c) => c.type === 'image').map((c) => Buffer.from((c as { data: string }).data, 'base64'));
  return { result: r.structuredContent as unknown as Result, images };
}

/** Python that builds a real PNG of w x h grey pixels with the standard library only. */
function pngMaker(w: number, h: number): string {
  return `
import zlib, struct
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
def png(w, h):
    raw = b''.join(b'\\x00' + bytes([128]) * w for _ in range(h))
    return b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
good = png(${w}, ${h})
`;
}

beforeAll(async () => {
  const dir = tempDir();
  brain = await startBrain(brainEnv(dir, { ...SANDBOX_LIMITS, BRAIN_SANDBOX_WARM: '0' }));
});

afterAll(async () => {
  await brain?.close();
});

describe('the status channel', () => {
  it('execute: "exit 0" written to fd 3 does not turn exit 7 into succeeded', async () => {
    for (const exit of ['sys.exit(7)', 'os._exit(7)']) {
      const r = await run(`import os, sys\ntry:\n    os.write(3, b"usage 1 1\\nexit 0\\n")\nexcept OSError:\n    pass\n${exit}`);
      expect(r, exit).toMatchObject({ status: 'failed', exit_code: 7 });
    }
  });

  it('execute: bytes with a PNG signature are not returned as an image unless they are a valid PNG', async () => {
    const forged = await runWithImages(`
import os
body = b'\\x89PNG\\r\\n\\x1a\\n' + b'not really an image'
for ctl in (3,):
    try:
        os.write(ctl, b'figure %d\\n' % len(body) + body)
    except OSError:
        pass
print('sent')`);
    expect(forged.images).toHaveLength(0);
    expect(forged.result.images).toBe(0);

    // A well-formed PNG whose checksum was changed afterwards, and one claiming 100000 x 100000 pixels.
    const tampered = await runWithImages(`${pngMaker(4, 3)}
import os
bad_crc = good[:-5] + bytes([good[-5] ^ 1]) + good[-4:]
huge = good[:8] + chunk(b'IHDR', struct.pack('>IIBBBBB', 100000, 100000, 8, 0, 0, 0, 0)) + good[33:]
for body in (bad_crc, huge):
    try:
        os.write(3, b'figure %d\\n' % len(body) + body)
    except OSError:
        pass
print('sent')`);
    expect(tampered.images).toHaveLength(0);
  });

  it('execute: a real matplotlib figure still comes back, and its stderr is clean', async () => {
    const { result, images } = await runWithImages('import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title("squares")\nprint("plotted")');
    expect(result).toMatchObject({ status: 'succeeded', stdout: 'plotted\n', stderr: '', images: 1 });
    expect(images).toHaveLength(1);
    expect(images[0].subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('files', () => {
  it('execute: files whose names are not UTF-8 are listed with an escaped name, and say so', async () => {
    const r = await run('open(b"caf\\xe9.txt", "wb").write(b"abc")\nopen("plain.txt", "w").write("x")');
    expect(r.status).toBe('succeeded');
    expect(r.files).toEqual(
      expect.arrayContaining([
        { path: 'caf\\xe9.txt', size: 3, change: 'created', escaped: true },
        { path: 'plain.txt', size: 1, change: 'created' },
      ]),
    );
  });
});

describe('limits', () => {
  it('execute: a timeout names the limit and how to raise it', async () => {
    const r = await run('import time\ntime.sleep(60)', { timeout_ms: 500 });
    expect(r.status).toBe('timeout');
    expect(r.note).toMatch(/time limit of 500 ms/);
    expect(r.note).toMatch(/timeout_ms/);
    expect(r.note).toMatch(/BRAIN_MAX_EXECUTION_TIME_MS/);
  });

  it('execute: running out of memory names the limit and how to raise it', async () => {
    const r = await run('a = []\nwhile True:\n    a.append(bytearray(8 * 1024 * 1024))', { timeout_ms: 4000 });
    expect(r.status).toBe('oom');
    expect(r.note).toMatch(new RegExp(`memory limit of ${SANDBOX_LIMITS.BRAIN_MAX_MEMORY_MB} MB`));
    expect(r.note).toMatch(/BRAIN_MAX_MEMORY_MB/);
  });
});
