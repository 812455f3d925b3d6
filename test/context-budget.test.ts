// What brain costs the assistant's context, measured where the assistant meets it: the built server
// over real stdio. Every conversation pays for tools/list and the instructions before its first
// word, and for init's answer right after; capability groups that are off cost nothing and say how
// to turn them on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApp } from '../src/app.js';
import { CAPABILITIES } from '../src/core/config.js';
import { listingBytes, toolListBytes } from '../src/core/server.js';
import { defineTool } from '../src/core/tool.js';
import { capabilityCosts } from '../src/cli/tool-sizes.js';
import { brainEnv, startBrain, tempDir, testConfig, type Connected } from './helpers/brain.js';

/** What the model reads of tools/list (name, description, input schema as JSON) with everything on. */
const VISIBLE_BUDGET = 14_000;
/** The whole tools/list answer as sent. */
const WHOLE_BUDGET = 28_000;
const INSTRUCTIONS_BUDGET = 1_024;
const INIT_BUDGET = 8_192;

const bytes = (text: string) => Buffer.byteLength(text);
const textOf = (r: unknown) => ((r as { content: { type: string; text: string }[] }).content).map((c) => c.text).join('\n');

describe('context budget', () => {
  let brain: Connected | undefined;
  afterAll(async () => brain?.close());

  it('tools/list with every capability on (clusters too) fits the budget, and so do the instructions', async () => {
    const dir = tempDir();
    brain = await startBrain(brainEnv(dir));
    const { tools } = await brain.client.listTools();
    const names = tools.map((t) => t.name);
    for (const name of ['init', 'remember', 'recall', 'forget', 'note', 'search', 'project', 'events', 'execute', 'executions', 'blueprint', 'cluster', 'message', 'task']) {
      expect(names).toContain(name);
    }
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    const { visible, whole } = listingBytes(tools);
    const instructions = brain.client.getInstructions() ?? '';
    console.info(`tools/list, every capability on (${tools.length} tools): ${visible} bytes model-visible (budget ${VISIBLE_BUDGET}), ${whole} bytes whole (budget ${WHOLE_BUDGET}); instructions ${bytes(instructions)} bytes`);
    expect(visible).toBeLessThanOrEqual(VISIBLE_BUDGET);
    expect(whole).toBeLessThanOrEqual(WHOLE_BUDGET);
    expect(bytes(instructions)).toBeLessThan(INSTRUCTIONS_BUDGET);
    for (const tool of ['init', 'recall', 'remember', 'note', 'search', 'project', 'events', 'execute', 'blueprint', 'cluster', 'message', 'task']) {
      expect(instructions, tool).toMatch(new RegExp(`\\b${tool}\\b`));
    }
    await brain.close();
    brain = undefined;
  });

  it('the groups add up to the whole, and each group is printed with its cost', () => {
    const dir = tempDir();
    const app = createApp(testConfig(dir));
    try {
      const groups = capabilityCosts(app);
      expect(groups.map((g) => g.name)).toEqual(['init', ...CAPABILITIES]);
      for (const g of groups) console.info(`${g.name.padEnd(10)} ${g.tools.join(', ').padEnd(36)} ${String(g.visible).padStart(6)} model-visible ${String(g.whole).padStart(6)} whole`);
      const sum = groups.reduce((n, g) => n + g.visible, 0);
      // Joined into one list, the groups' arrays lose a pair of brackets each and gain a comma between.
      expect(sum).toBe(toolListBytes(app.tools).visible + groups.length - 1);
      expect(sum).toBeLessThanOrEqual(VISIBLE_BUDGET);
    } finally {
      app.close();
    }
  });

  it("a merged tool's action table must name its own actions and fields: a typo fails when tools are registered", () => {
    const tool = (table: Record<string, { needs?: string[]; takes?: string[] }>) =>
      defineTool({
        name: 'demo',
        title: 'Demo',
        description: 'Demo.',
        kind: 'read',
        input: { action: z.enum(['get', 'list']), id: z.string().optional() },
        output: {},
        actions: { table },
        handle: () => ({}),
      });
    expect(() => toolListBytes([tool({ get: { needs: ['id'] }, list: {} })])).not.toThrow();
    expect(() => toolListBytes([tool({ get: { needs: ['idd'] }, list: {} })])).toThrow('tool demo: action "get" names "idd", which is not a field');
    expect(() => toolListBytes([tool({ get: { needs: ['id'] } })])).toThrow('tool demo: action "list" is missing from its action table');
    expect(() => toolListBytes([tool({ get: {}, list: {}, put: {} })])).toThrow('tool demo: its action table names "put", which is not an action');
  });

  it('a merged tool names the field an action does not use, and what each action needs', async () => {
    const dir = tempDir();
    brain = await startBrain(brainEnv(dir));
    const c = brain.client;
    const fails = async (name: string, args: Record<string, unknown>) => {
      const r = await c.callTool({ name, arguments: args });
      expect(r.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      return textOf(r);
    };
    expect(await fails('note', { action: 'list', content: 'x' })).toMatch(/note list does not use "content"; remove it \(list takes "tags", "folder", "limit", "offset", "project"\)/);
    expect(await fails('note', { action: 'write', title: 'T' })).toMatch(/note write needs "content"/);
    expect(await fails('project', { action: 'list', archived: false })).toMatch(/project list does not use "archived"/);
    expect(await fails('project', { action: 'use' })).toMatch(/project use needs "name"/);
    expect(await fails('events', { action: 'delete' })).toMatch(/events delete needs the "id"/);
    expect(await fails('events', { action: 'record', type: ['a', 'b'], message: 'm' })).toMatch(/one "type"/);
    expect(await fails('events', { action: 'list', message: 'm' })).toMatch(/events list does not use "message"/);
    expect(await fails('task', { action: 'fail', agent: 'a/b' })).toBe('task fail needs "id" and "reason" (fail takes "agent", "id", "reason").');
    // A field written with its default value (clients that fill in every field) is no mistake.
    const listed = await c.callTool({ name: 'project', arguments: { action: 'list', create: false, allow_secrets: false } });
    expect(listed.isError, textOf(listed)).toBeFalsy();
    expect(await fails('project', { action: 'list', create: true })).toMatch(/project list does not use "create"; remove it \(list takes "include_archived" and "name"\)/);
    // Bounds left out of the listed schema are still checked, with a sentence naming them.
    expect(await fails('recall', { limit: 500 })).toMatch(/limit is at most 50/);
    expect(await fails('remember', { content: 'x', key: 'k', project: 'not a name!' })).toMatch(/project name is 1-64 letters/);
    await brain.close();
    brain = undefined;
  });

  it('BRAIN_TOOLS=memory lists only the memory tools; a call to a tool of a group that is off names the variable', async () => {
    const dir = tempDir();
    brain = await startBrain(brainEnv(dir, { BRAIN_TOOLS: 'memory' }));
    const c = brain.client;
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name)).toEqual(['init', 'remember', 'recall', 'forget']);
    const instructions = c.getInstructions() ?? '';
    expect(instructions).toMatch(/recall/);
    for (const off of ['note', 'search', 'project', 'events', 'execute', 'cluster', 'task']) expect(instructions).not.toMatch(new RegExp(`\\b${off}\\b`));
    for (const [name, group] of [['note', 'notes'], ['execute', 'execution'], ['project', 'projects'], ['task', 'clusters']] as const) {
      const r = await c.callTool({ name, arguments: {} });
      expect(r.isError, name).toBe(true);
      expect(textOf(r)).toMatch(new RegExp(`"${name}" belongs to brain's ${group} capability, which is off .*BRAIN_TOOLS=memory.*add ${group} to BRAIN_TOOLS`));
    }
    // Nothing of init mentions what is off.
    const init = await c.callTool({ name: 'init', arguments: {} });
    expect(Object.keys(init.structuredContent!)).not.toContain('recent_notes');
    expect(Object.keys(init.structuredContent!)).not.toContain('project_context');
    // A tool brain never had is still the protocol's unknown tool.
    await expect(c.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/Unknown tool "no_such_tool"/);
    await brain.close();
    brain = undefined;
  });

  it('brain --tools=notes,projects is the same switch as the variable; a bad name is refused naming BRAIN_TOOLS', async () => {
    const dir = tempDir();
    brain = await startBrain(brainEnv(dir), ['--tools=notes,projects']);
    const { tools } = await brain.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['init', 'note', 'search', 'project']);
    // Memories are off: search covers notes, and says so when asked for memories.
    const r = await brain.client.callTool({ name: 'search', arguments: { query: 'anything', in: 'memories' } });
    expect(textOf(r)).toMatch(/BRAIN_TOOLS/);
    await brain.close();
    brain = undefined;
    await expect(startBrain(brainEnv(dir, { BRAIN_TOOLS: 'memory,telepathy' }))).rejects.toThrow();
  });

  describe('init on 2,000 memories and 200 notes', () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir();
      const app = createApp(testConfig(dir, { BRAIN_NOTES_WATCH: 'false', BRAIN_NOTES_POLL_MS: '0' }));
      try {
        for (let i = 0; i < 2000; i++) {
          const pref = i % 100 === 0;
          app.memories.remember({
            project: '',
            key: pref ? `preference-${i}` : `fact-${i}`,
            content: pref
              ? `The user prefers answer style number ${i}: short sentences, examples first, no filler words at all.`
              : `Fact ${i}: the service called component-${i % 37} keeps its state in table t${i} and is deployed by job ${i * 7}; owners rotate weekly.`,
            type: pref ? 'user_preferences' : 'fact',
            tags: [`area-${i % 13}`],
            importance: pref ? 0.9 : (i % 10) / 10,
          });
        }
        for (let i = 0; i < 200; i++) {
          app.notes.write({ project: '', title: `Meeting notes ${i}`, content: `# Meeting ${i}\n\nWe agreed on item ${i} and will revisit it next week.`, tags: ['meeting'], mode: 'create' });
        }
      } finally {
        app.close();
      }
    });

    it('answers within 8 KB, preferences first, and says how many more there are and how to get them', async () => {
      brain = await startBrain(brainEnv(dir));
      const r = await brain.client.callTool({ name: 'init', arguments: {} });
      expect(r.isError).toBeFalsy();
      const text = textOf(r);
      const init = r.structuredContent as { preferences: { key: string }[]; memories: unknown[]; recent_notes: unknown[]; more: string };
      console.info(`init on 2,000 memories and 200 notes: ${bytes(text)} bytes (budget ${INIT_BUDGET}); ${init.preferences.length} preferences, ${init.memories.length} memories, ${init.recent_notes.length} notes shown`);
      expect(bytes(text)).toBeLessThanOrEqual(INIT_BUDGET);
      expect(Object.keys(init)[0]).toBe('preferences');
      expect(init.preferences).toHaveLength(20);
      expect(init.memories.length).toBeGreaterThan(5);
      expect(init.recent_notes.length).toBeGreaterThan(5);
      const more = /(\d+) more memories: recall/.exec(init.more);
      expect(Number(more?.[1])).toBe(2000 - 20 - init.memories.length);
      expect(init.more).toMatch(new RegExp(`${200 - init.recent_notes.length} more notes: note \\{"action": "list"\\}`));
      await brain.close();
      brain = undefined;
    });
  });
});
