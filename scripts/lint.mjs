// Project rules that the type checker cannot see (run by `npm run lint` after tsc):
// - only src/core may import the MCP SDK's server classes (areas register tools into core);
// - nothing outside the CLI writes to stdout (in stdio mode stdout is the JSON-RPC channel);
// - one area never reaches into another area's files except through its exported modules.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const problems = [];

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const CLI_FILES = new Set(['src/cli.ts']);
for (const file of [...walk(path.join(root, 'src')), ...walk(path.join(root, 'worker'))]) {
  const rel = path.relative(root, file);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${rel}:${i + 1}`;
    if (/@modelcontextprotocol\/sdk\/server\//.test(line) && !rel.startsWith('src/core/') && !CLI_FILES.has(rel) && !/^\s*\/\//.test(line)) {
      problems.push(`${where}: only src/core (and the CLI transports) may import the MCP SDK server`);
    }
    if (/console\.(log|info)\(|process\.stdout\.write/.test(line) && !CLI_FILES.has(rel) && !/^\s*\/\//.test(line)) {
      problems.push(`${where}: writes to stdout (use the logger or stderr; stdout is the JSON-RPC channel)`);
    }
    if (/\b(TODO|FIXME|XXX)\b|NotImplemented/.test(line)) problems.push(`${where}: unfinished marker`);
  });
  // src/core must not know any area.
  if (rel.startsWith('src/core/')) {
    for (const m of text.matchAll(/from '\.\.\/(\w+)\//g)) {
      if (m[1] !== 'core') problems.push(`${rel}: src/core imports the ${m[1]} area; areas register into core, not the reverse`);
    }
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
