// Regenerates the tool table in README.md from the tool definitions (npm run docs), so the
// README never drifts from what tools/list says. `--check` exits 1 if the README is stale.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { createApp } = await import(path.join(root, 'dist/src/app.js'));
const { loadConfig } = await import(path.join(root, 'dist/src/core/config.js'));

export function toolTable(tools) {
  const firstSentence = (text) => text.replace(/\s+/g, ' ').trim();
  const rows = tools.map((t) => `| \`${t.name}\` | ${t.kind} | ${firstSentence(t.description).replace(/\|/g, '\\|')} |`);
  return ['| tool | kind | what it is for |', '|---|---|---|', ...rows].join('\n');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brain-docs-'));
const app = createApp(loadConfig({ BRAIN_DB_PATH: path.join(dir, 'brain.db'), BRAIN_LOG_FILES: 'false', HOME: dir }));
const table = toolTable(app.tools);
app.close();
fs.rmSync(dir, { recursive: true, force: true });

const readmePath = path.join(root, 'README.md');
const readme = fs.readFileSync(readmePath, 'utf8');
const start = '<!-- tools:start -->';
const end = '<!-- tools:end -->';
const next = readme.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${table}\n${end}`);
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
