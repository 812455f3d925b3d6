// The release tarball, the way an operator installs it: `npm run package`'s script makes it, the
// test copies it into an empty folder and runs exactly the README's "From a release tarball" lines
// there (npm ci --omit=dev compiles better-sqlite3, about two minutes, so this file is not part of
// `npm test`: `npm run test:package` runs it, and .ci/run runs that). The last line starts the
// daemon; an MCP session over its socket remembers and recalls, and the daemon has taken its
// first backup at start-up.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { brainEnv, call, ROOT, tempDir } from './helpers/brain.js';
import { connectable, socketClient, waitFor } from './helpers/daemon.js';
import { SANDBOX_LIMITS } from './helpers/sandbox.js';

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string>; devDependencies: Record<string, string>; dependencies: Record<string, string> };

/** The shell lines of the README's release install, in order. */
function readmeSteps(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('**From a release tarball**');
  expect(at, 'README has a "From a release tarball" paragraph').toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))!;
  return block[1].split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
}

function run(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }) {
  const r = spawnSync('/bin/sh', ['-ec', command], { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeout ?? 120_000 });
  expect(r.status, `${command}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

describe('release tarball', () => {
  it('unpacked into an empty folder, the README steps install production dependencies only and start a working daemon', { timeout: 40 * 60_000 }, async () => {
    expect(pkg.scripts.package).toBe('npm run prepack && scripts/package.sh');
    const out = tempDir('brain-release-out-');
    // What `npm run package` runs after its clean build (`npm run test:package` built dist/ just now).
    const made = run(`scripts/package.sh --out ${out}`, { cwd: ROOT, env: process.env });
    const tarball = made.stdout.trim();
    expect(path.basename(tarball)).toBe(`${pkg.name}-${pkg.version}.tar.gz`);
    const list = run(`tar -tzf ${tarball}`, { cwd: out, env: process.env }).stdout.split('\n').filter(Boolean);
    const top = `${pkg.name}-${pkg.version}/`;
    expect(list.every((f) => f.startsWith(top))).toBe(true);
    const files = list.map((f) => f.slice(top.length));
    for (const needed of ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'schema.sql', 'dist/src/cli.js', 'dist/worker/execute-worker.js', 'deployment/brain.service', 'scripts/backup.sh']) {
      expect(files, needed).toContain(needed);
    }
    expect(files.filter((f) => /^(src|test|bench|node_modules|\.ci)\/|^dist\/(bench|test)\/|\.map$|\.ts$/.test(f))).toEqual([]);

    const steps = readmeSteps();
    expect(steps[0]).toContain(`${pkg.name}-${pkg.version}.tar.gz`);
    const serveLine = steps.at(-1)!;
    expect(serveLine).toMatch(/ serve$/);
    const cdInto = /&& cd (\S+)$/.exec(steps[0])![1];

    const home = tempDir('brain-release-');
    const empty = path.join(home, 'empty');
    fs.mkdirSync(empty);
    fs.copyFileSync(tarball, path.join(empty, path.basename(tarball)));
    const data = path.join(home, 'data');
    const env: NodeJS.ProcessEnv = {
      ...brainEnv(data, SANDBOX_LIMITS),
      BRAIN_SOCKET_PATH: path.join(data, 'brain.sock'),
      BRAIN_LOG_FILES: 'false',
      // npm's and node-gyp's caches (under HOME), so nothing this machine has is fetched again;
      // brain's own paths are all set above.
      HOME: os.homedir(),
      // npm's own cache, so the registry is not asked again for what this machine already has.
      npm_config_cache: process.env.npm_config_cache ?? path.join(os.homedir(), '.npm'),
    };
    // Every line but the last, in one shell as a person types them (the cd carries over).
    // npm ci compiles better-sqlite3: about two minutes on an idle 2-core machine, far longer on a busy one.
    run(steps.slice(0, -1).join('\n'), { cwd: empty, env, timeout: 30 * 60_000 });
    const installed = path.join(empty, cdInto);
    for (const dep of Object.keys(pkg.dependencies)) expect(fs.existsSync(path.join(installed, 'node_modules', dep)), dep).toBe(true);
    for (const dev of Object.keys(pkg.devDependencies)) expect(fs.existsSync(path.join(installed, 'node_modules', dev)), dev).toBe(false);

    const daemon = spawn('/bin/sh', ['-c', `exec ${serveLine}`], { cwd: installed, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    daemon.stderr!.on('data', (d: Buffer) => (log += d));
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', resolve));
    try {
      await waitFor('the released brain serve to listen', async () => {
        if (daemon.exitCode !== null) throw new Error(`brain serve exited: ${log}`);
        return fs.existsSync(env.BRAIN_SOCKET_PATH!) && connectable(env.BRAIN_SOCKET_PATH!);
      }, 60_000);
      const client = await socketClient(env.BRAIN_SOCKET_PATH!, 'release-test');
      try {
        expect(client.getServerVersion()).toMatchObject({ name: 'brain', version: pkg.version });
        await call(client, 'remember', { key: 'from-the-release', content: 'installed from the release tarball' });
        const found = await call<{ results: { key: string }[] }>(client, 'recall', { query: 'release tarball' });
        expect(found.results[0]).toMatchObject({ key: 'from-the-release' });
      } finally {
        await client.close();
      }
      // A fresh service: its first backup, verified and gzipped, is taken at start-up.
      await waitFor('the start-up backup', () => fs.existsSync(env.BRAIN_BACKUP_PATH!) && fs.readdirSync(env.BRAIN_BACKUP_PATH!).some((n) => /^brain_\d{8}_\d{6}\.db\.gz$/.test(n)), 60_000);
    } finally {
      daemon.kill('SIGTERM');
    }
    expect(await exited, log).toBe(0);
  });
});
