// Regenerates the tool table and the capability cost table in README.md from the tool definitions
// (npm run docs), so the README never drifts from what tools/list says. `--check` exits 1 if the
// README is stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { createApp } = await import(path.join(root, 'dist/src/app.js'));
const { loadConfig } = await import(path.join(root, 'dist/src/core/config.js'));
const { capabilityCosts, offeredCost } = await import(path.join(root, 'dist/src/cli/tool-sizes.js'));

export function toolTable(tools) {
  const firstSentence = (text) => text.replace(/\s+/g, ' ').trim();
  const rows = tools.map((t) => `| \`${t.name}\` | ${t.kind} | ${firstSentence(t.description).replace(/\|/g, '\\|')} |`);
  return ['| tool | kind | what it is for |', '|---|---|---|', ...rows].join('\n');
}

/** Each capability group's cost in bytes of tools/list, and the total with every group on. */
export function costTable(groups, total) {
  const rows = groups.map((g) => `| ${g.name === 'init' ? '`init` (always on)' : g.name} | ${g.tools.map((t) => `\`${t}\``).join(', ')} | ${g.visible} | ${g.whole} |`);
  return [
    '| capability | tools | bytes the model reads | bytes in tools/list |',
    '|---|---|--:|--:|',
    ...rows,
    `| **all** (the default) | ${groups.reduce((n, g) => n + g.tools.length, 0)} tools | ${total.visible} | ${total.whole} |`,
  ].join('\n');
}

function replaceBetween(text, name, body) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  if (!text.includes(start)) throw new Error(`README.md has no ${start} marker`);
  return text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${body}\n${end}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brain-docs-'));
const app = createApp(loadConfig({ BRAIN_DB_PATH: path.join(dir, 'brain.db'), BRAIN_LOG_FILES: 'false', HOME: dir }));
const table = toolTable(app.tools);
const costs = costTable(capabilityCosts(app), offeredCost(app));
app.close();
fs.rmSync(dir, { recursive: true, force: true });

const readmePath = path.join(root, 'README.md');
const readme = fs.readFileSync(readmePath, 'utf8');
const next = replaceBetween(replaceBetween(readme, 'tools', table), 'tool-costs', costs);
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md tool table is out of date: run `npm run docs`.');
    process.exit(1);
  }
  console.log('README tool table: up to date');
} else {
  fs.writeFileSync(readmePath, next);
  console.log(`README tool table: ${app.tools.length} tools`);
}
