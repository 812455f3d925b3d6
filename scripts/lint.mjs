// Project rules that the type checker cannot see (run by `npm run lint` after tsc):
// - only src/core may import the MCP SDK's server classes (areas register tools into core);
// - nothing outside the CLI (src/cli.ts, src/cli/) writes to stdout (in stdio mode stdout is the
//   JSON-RPC channel);
// - areas keep their insides (see checkImport): an area uses another area only through its
//   service.ts and types.ts, src/core knows no area, src/text knows nothing but itself, and
//   nothing below app.ts imports it.
// Usage: node scripts/lint.mjs [ROOT]   ROOT defaults to this repository (the tests lint copies).
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..'));
const src = path.join(root, 'src');
const problems = [];

function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Files at the top of src/ that compose the areas: they may import anything. */
const COMPOSERS = new Set(['app.ts', 'cli.ts']);
/** The command line's own folder: its subcommands run the composed app, so they compose too. */
const CLI_DIR = 'cli';
/** Areas that may import another area's inner files, and why. */
const REACHES_INTO = {
  // `brain serve` runs the operations layer itself: its scheduler, health checks and backups.
  daemon: new Set(['ops']),
};
/** Areas that may import app.ts: `brain serve` builds and runs the composed app. */
const IMPORTS_APP = new Set(['daemon']);

/**
 * Where a file sits, from its path under src/: { group: 'core' | 'text' | 'cli' | <area> | 'top' | 'outside', name }.
 * 'top' = a module at the top of src/ (app.ts, cli.ts, doctor.ts); 'cli' = the command line's
 * modules under src/cli/; 'outside' = beyond src/ (worker/).
 */
function place(file) {
  const rel = path.relative(src, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return { group: 'outside', rel: path.relative(root, file) };
  const parts = rel.split(path.sep);
  return parts.length === 1 ? { group: 'top', name: parts[0], rel: `src/${rel}` } : { group: parts[0], name: parts.slice(1).join('/'), rel: `src/${parts.join('/')}` };
}

/** The rule an import breaks, or undefined. `from` and `to` are places (see place). */
function checkImport(from, to, spec) {
  if ((from.group === 'top' && COMPOSERS.has(from.name)) || from.group === CLI_DIR) return undefined;
  if (to === undefined) {
    if (from.group === 'text' && spec === 'better-sqlite3') return 'src/text is database-free: it must not import better-sqlite3';
    return undefined; // a Node built-in or an npm package
  }
  if (to.group === 'top' && to.name === 'cli.ts') return 'imports src/cli.ts, the entry point: nothing imports it';
  if (to.group === CLI_DIR) return `imports ${to.rel}: only the command line (src/cli.ts, src/cli/) uses src/cli/`;
  if (from.group === 'text') {
    return to.group === 'text' ? undefined : `imports ${to.rel}: src/text imports nothing but src/text (and packages), so every area can use it`;
  }
  if (from.group === 'core') {
    return to.group === 'core' || to.group === 'text' ? undefined : `imports ${to.rel}: src/core knows no area (areas register into core, not the reverse)`;
  }
  if (to.group === 'top' && to.name === 'app.ts') {
    return IMPORTS_APP.has(from.group) ? undefined : 'imports src/app.ts: only what runs the composed app (cli.ts, src/daemon) may; pass what is needed in instead';
  }
  if (to.group === 'core' || to.group === 'text' || to.group === from.group) return undefined;
  // doctor.ts is the doctor command's list of checks, which areas add to (execution, daemon);
  // worker/ is the code the execution area runs in its worker threads.
  if (to.group === 'top' || to.group === 'outside') return undefined;
  // Another area: only its public face, unless an exception above says otherwise.
  if (to.name === 'service.ts' || to.name === 'types.ts') return undefined;
  if (REACHES_INTO[from.group]?.has(to.group)) return undefined;
  return `imports ${to.rel}: an area uses another area only through its service.ts and types.ts (move what is shared there, or into src/text or src/core)`;
}

/** The file a relative import names (`./x.js` is compiled from `./x.ts`), or undefined for packages. */
function resolve(file, spec) {
  if (!spec.startsWith('.')) return undefined;
  const target = path.resolve(path.dirname(file), spec);
  return target.endsWith('.js') ? target.slice(0, -3) + '.ts' : target;
}

/**
 * Every module a file imports, from TypeScript's parse (so nothing in a comment or a string counts):
 * static, type-only and re-exporting imports, `import('x')` calls and `import('x').T` types.
 * (ts.preProcessFile's quicker scan loses its place after some regular expressions and misses
 * the imports that follow them.)
 */
function importsOf(file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found = [];
  const add = (node) => {
    if (node && ts.isStringLiteralLike(node)) found.push({ spec: node.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const isCli = (rel) => rel === path.join('src', 'cli.ts') || rel.startsWith(path.join('src', CLI_DIR) + path.sep);
for (const file of [...walk(src), ...walk(path.join(root, 'worker'))]) {
  const rel = path.relative(root, file);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `${rel}:${i + 1}`;
    if (/@modelcontextprotocol\/sdk\/server\//.test(line) && !rel.startsWith('src/core/') && !isCli(rel) && !/^\s*\/\//.test(line)) {
      problems.push(`${where}: only src/core (and the CLI transports) may import the MCP SDK server`);
    }
    if (/console\.(log|info)\(|process\.stdout\.write/.test(line) && !isCli(rel) && !/^\s*\/\//.test(line)) {
      problems.push(`${where}: writes to stdout (use the logger or stderr; stdout is the JSON-RPC channel)`);
    }
    if (/\b(TODO|FIXME|XXX)\b|NotImplemented/.test(line)) problems.push(`${where}: unfinished marker`);
  });
  if (!rel.startsWith(`src${path.sep}`)) continue;
  const from = place(file);
  for (const { spec, line } of importsOf(file, text)) {
    const target = resolve(file, spec);
    const broken = checkImport(from, target && place(target), spec);
    if (broken) problems.push(`${rel}:${line}: ${broken}`);
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
