// brain as an npm package, the way a user installs it: `npm pack`, then `npm install -g` of the
// tarball into a scratch prefix (better-sqlite3 compiles from source there, about two minutes, so
// this file is not part of `npm test`: `npm run test:package` runs it, and .ci/run runs that after
// `npm test`). The installed `brain` then runs from a folder that is not the checkout: its doctor,
// and one MCP session that remembers, recalls and runs code in the sandbox with the package's own
// worker and firejail profile.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { brainEnv, call, ROOT, tempDir } from './helpers/brain.js';
import { SANDBOX_LIMITS } from './helpers/sandbox.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

let work: string;
let tarball: string;
let brainBin: string;
let installed: string;
let client: Client | undefined;

/** Runs a command; a failure shows its output in the assertion. */
function run(command: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }) {
  const r = spawnSync(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeout ?? 120_000 });
  expect(r.status, `${command} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

beforeAll(() => {
  work = tempDir('brain-package-');
  // `npm test` (or `npm run test:package`) built dist/ just now; --ignore-scripts keeps prepack
  // from rebuilding it under the feet of anything else reading it.
  const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  tarball = path.join(work, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename);
  const prefix = path.join(work, 'prefix');
  // What a user types, in a folder of its own so nothing resolves through the checkout.
  run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { cwd: work, timeout: 15 * 60_000 });
  brainBin = path.join(prefix, 'bin', 'brain');
  installed = path.join(prefix, 'lib', 'node_modules', pkg.name);
}, 16 * 60_000);

afterAll(async () => {
  await client?.close();
});

describe('npm package', () => {
  it('the tarball holds what brain needs at run time, and nothing of the checkout besides', () => {
    const list = run('tar', ['tzf', tarball], { cwd: work }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const needed of [
      'package.json',
      'README.md',
      'LICENSE',
      'schema.sql',
      'dist/src/cli.js',
      'dist/src/app.js',
      'dist/worker/execute-worker.js',
      'dist/worker/runner-py.js',
      'deployment/brain-sandbox.profile',
      'deployment/brain.service',
      'deployment/brain.env.example',
      'deployment/prometheus/brain-alerts.yml',
      'blueprints/software-team.yaml',
      'scripts/setup-sandbox.sh',
      'scripts/start-mcp.sh',
      'scripts/backup.sh',
    ]) {
      expect(list, needed).toContain(needed);
    }
    // Every compiled module of src/ and worker/ is in it.
    const built = (dir: string): string[] =>
      fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join('dist', dir, f.replace(/\.ts$/, '.js')));
    for (const module of [...built('src'), ...built('worker')]) expect(list, module).toContain(module);
    const stray = list.filter((f) => /^(src|test|bench|worker|node_modules|\.ci)\/|^dist\/bench\/|\.map$|\.ts$|^scripts\/.*\.mjs$/.test(f));
    expect(stray).toEqual([]);
  });

  it('npm install -g gives a brain command whose version is the package version', () => {
    expect(fs.realpathSync(brainBin)).toBe(path.join(fs.realpathSync(installed), 'dist', 'src', 'cli.js'));
    expect(run(brainBin, ['--version'], { cwd: work }).stdout.trim()).toContain(pkg.version);
  });

  it('brain doctor from the package: ready here, with the sandbox and the python stack', () => {
    const env = brainEnv(tempDir('brain-package-doctor-'), SANDBOX_LIMITS);
    const r = run(brainBin, ['doctor'], { cwd: work, env, timeout: 120_000 });
    expect(r.stdout).toMatch(/^ok\s+sqlite: SQLite [\d.]+ with FTS5/m);
    expect(r.stdout).toMatch(/^ok\s+sandbox: firejail as /m);
    expect(r.stdout).toMatch(/^ok\s+python stack: numpy/m);
    expect(r.stdout).toMatch(/^brain is ready\.$/m);
  });

  it('brain doctor from the package without firejail: names the packages execute needs and the setup script by its installed path', () => {
    const env = { ...brainEnv(tempDir('brain-package-nofj-'), SANDBOX_LIMITS), BRAIN_FIREJAIL_PATH: '/nonexistent/firejail' };
    const r = spawnSync(brainBin, ['doctor'], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^warn\s+execute needs: firejail MISSING, python3 installed/m);
    expect(r.stdout).toMatch(/^brain works without execute:/m);
    if (process.getuid?.() === 0) {
      // As root a missing sandbox user is the next thing doctor would name: by the script's full path.
      const user = spawnSync(brainBin, ['doctor'], { cwd: work, env: { ...env, BRAIN_FIREJAIL_PATH: '/usr/bin/firejail', BRAIN_SANDBOX_USER: 'no-such-user-xyz' }, encoding: 'utf8', timeout: 120_000 });
      expect(user.stdout).toContain(`sudo ${path.join(fs.realpathSync(installed), 'scripts', 'setup-sandbox.sh')}`);
    }
  });

  it('one MCP session with the installed brain: initialize, remember, recall, execute', async () => {
    const env = brainEnv(tempDir('brain-package-session-'), SANDBOX_LIMITS);
    const transport = new StdioClientTransport({ command: brainBin, args: [], env, cwd: work, stderr: 'pipe' });
    client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(transport);
    expect(client.getServerVersion()).toMatchObject({ name: 'brain', version: pkg.version });
    await call(client, 'remember', { key: 'installed-from-npm', content: 'brain runs from its npm package' });
    const found = await call<{ results: { key: string; content: string }[] }>(client, 'recall', { query: 'npm package' });
    expect(found.results[0]).toMatchObject({ key: 'installed-from-npm', content: 'brain runs from its npm package' });
    const ran = await call<{ status: string; stdout: string }>(client, 'execute', { code: 'import numpy\nprint(numpy.arange(4).sum())' });
    expect(ran).toMatchObject({ status: 'succeeded', stdout: '6\n' });
  }, 120_000);
});
