#!/usr/bin/env node
// The last step of `npm run build`: the `brain` command (dist/src/cli.js, as tsc wrote it) and
// everything it imports, brain's modules and the libraries alike, become one entry file and a few
// chunks in dist/src/chunks. Node resolves, reads and links each ES module file on its own: the
// ~600 files behind `brain` cost every start about 180 ms (a third of the time to the first
// answer) and ~10 MB of memory. The entry keeps its dynamic import of the command line as a chunk
// of its own, so a bridge to a running daemon still loads only the few small chunks it needs.
//
// Left outside: better-sqlite3 (a native addon) and piscina (it starts its workers from its own
// files). The execution worker (dist/worker) and the other modules tsc wrote stay as they are:
// the pool loads the worker by path, and benchmarks and tests import modules one by one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'src');
const entry = path.join(outdir, 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('bundle: dist/src/cli.js is missing: run tsc first (npm run build does both)');
  process.exit(1);
}
// Chunk names carry a hash of their content: the ones an earlier build left would pile up.
fs.rmSync(path.join(outdir, 'chunks'), { recursive: true, force: true });

await esbuild.build({
  entryPoints: { cli: entry },
  outdir,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'piscina'],
  chunkNames: 'chunks/[name]-[hash]',
  // CommonJS libraries inside an ES module bundle still call require() for Node's own modules.
  banner: { js: "import { createRequire as __brainRequire } from 'node:module'; const require = __brainRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
