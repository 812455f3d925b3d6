// Raw lines on brain's stdio: garbage, JSON that is not JSON-RPC, requests with every field of
// the wrong kind, batches, a byte-order mark, deep nesting. Whatever brain answers to them, the
// process stays up and answers the valid request sent after each few.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { brainEnv, tempDir } from '../helpers/brain.js';
import { knob, report } from './figures.js';
import { handshake, startPeer } from './rpc-peer.js';

const LINES = knob('RELIABILITY_RPC_LINES', 2000);

const anyId = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), fc.double(), fc.constant({}), fc.constant([]));
const method = fc.oneof(
  fc.constantFrom('tools/call', 'tools/list', 'initialize', 'ping', 'resources/read', 'resources/list', 'prompts/get', 'completion/complete', 'notifications/cancelled', 'logging/setLevel'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.constant(null),
);
const params = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ name: fc.oneof(fc.constantFrom('remember', 'recall', 'note', 'search', 'nope'), fc.string({ maxLength: 10 })), arguments: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
);
const request = fc.record({ jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), fc.integer()), id: anyId, method, params }, { requiredKeys: [] });

const line: fc.Arbitrary<string> = fc.oneof(
  request.map((r) => JSON.stringify(r)),
  fc.array(request, { maxLength: 4 }).map((b) => JSON.stringify(b)),
  request.map((r) => `\uFEFF${JSON.stringify(r)}`),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.integer({ min: 1, max: 3000 }).map((n) => `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":${'['.repeat(n)}${']'.repeat(n)}}`),
).map((l) => l.replace(/[\r\n]/g, ' '));

describe('fuzzed JSON-RPC lines on stdio', () => {
  it('leave the process up and answering', { timeout: 120_000 }, async () => {
    const dir = tempDir('brain-rpc-fuzz-');
    const env = brainEnv(dir, { BRAIN_LOG_FILES: 'false', BRAIN_LOG_LEVEL: 'error', BRAIN_SANDBOX_WARM: '0' });
    const peer = startPeer(env);
    let tried = 0;
    let answered = 0;
    try {
      await handshake(peer);
      const lines = fc.sample(line, { numRuns: LINES, seed: Number(process.env.RELIABILITY_SEED ?? 20261206) });
      for (let i = 0; i < lines.length; i += 20) {
        for (const l of lines.slice(i, i + 20)) {
          peer.raw(l);
          tried++;
        }
        // The valid request after each batch of 20 must be answered.
        const pong = await Promise.race([peer.request('ping'), peer.exited.then((code) => ({ error: { code: -1, message: `exited with ${code}: ${peer.stderr().slice(-500)}` } }))]);
        expect(pong).toMatchObject({ result: {} });
        answered++;
      }
      const list = await peer.request('tools/list');
      expect(list.result?.tools).toBeDefined();
      expect(peer.child.exitCode).toBeNull();
    } finally {
      peer.kill('SIGTERM');
      await peer.exited;
    }
    report('fuzzed JSON-RPC lines', { 'lines tried': tried, 'valid requests after them answered': `${answered} of ${answered}`, crashes: 0 });
  });
});
