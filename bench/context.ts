// What brain costs the assistant's context before its first word: tools/list (what the model
// reads, and the whole answer), the server instructions and init's answer, beside the official
// memory server's tools/list as a baseline. test/context-budget.test.ts holds the budgets.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/core/config.js';
import { listingBytes } from '../src/core/server.js';
import { capabilityCosts } from '../src/cli/tool-sizes.js';
import { brainEnv, CLI, connectStdio, tempDir, type BenchContext, type BenchSection } from './lib.js';

const require = createRequire(import.meta.url);

async function run(ctx: BenchContext): Promise<void> {
  const dir = tempDir('context-bench-');
  try {
    const env = brainEnv(dir);
    const peer = await connectStdio(process.execPath, [CLI], env);
    const { tools } = await peer.client.listTools();
    const all = listingBytes(tools);
    const instructions = Buffer.byteLength(peer.client.getInstructions() ?? '');
    await peer.close();

    const script = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');
    const peerDir = tempDir('context-bench-peer-');
    const official = await connectStdio(process.execPath, [script], { PATH: process.env.PATH ?? '', MEMORY_FILE_PATH: `${peerDir}/memory.jsonl` });
    const theirs = listingBytes((await official.client.listTools()).tools);
    await official.close();
    fs.rmSync(peerDir, { recursive: true, force: true });

    console.log(`tools/list, every capability on: ${tools.length} tools, ${all.visible} bytes model-visible (budget 14000), ${all.whole} bytes whole (budget 28000)`);
    console.log(`  baseline @modelcontextprotocol/server-memory: ${theirs.visible} bytes model-visible, ${theirs.whole} whole`);
    console.log(`instructions: ${instructions} bytes (budget 1024)`);
    const app = createApp(loadConfig(env));
    const memories = ctx.quick ? 500 : 2000;
    const notes = ctx.quick ? 50 : 200;
    try {
      for (const g of capabilityCosts(app)) {
        console.log(`  ${g.name.padEnd(10)} ${g.tools.join(', ').padEnd(36)} ${String(g.visible).padStart(6)} model-visible ${String(g.whole).padStart(6)} whole`);
      }
      // init's answer on a full store: 2,000 memories (1 in 100 a preference) and 200 notes.
      for (let i = 0; i < memories; i++) {
        const pref = i % 100 === 0;
        app.memories.remember({
          project: '',
          key: `${pref ? 'preference' : 'fact'}-${i}`,
          content: pref ? `The user prefers answer style ${i}: short sentences, examples first.` : `Fact ${i}: component-${i % 37} keeps its state in table t${i}; job ${i * 7} deploys it.`,
          type: pref ? 'user_preferences' : 'fact',
          tags: [`area-${i % 13}`],
          importance: pref ? 0.9 : (i % 10) / 10,
        });
      }
      for (let i = 0; i < notes; i++) app.notes.write({ project: '', title: `Meeting notes ${i}`, content: `# Meeting ${i}\n\nWe agreed on item ${i}.`, mode: 'create' });
    } finally {
      app.close();
    }
    const again = await connectStdio(process.execPath, [CLI], env);
    const init = await again.client.callTool({ name: 'init', arguments: {} });
    await again.close();
    const text = (init.content as { text: string }[]).map((c) => c.text).join('');
    console.log(`init on ${memories} memories and ${notes} notes: ${Buffer.byteLength(text)} bytes (budget 8192)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const section: BenchSection = { name: 'context', run };
export default section;
