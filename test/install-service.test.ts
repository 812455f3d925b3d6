// scripts/install-service.sh (what `install.sh --service` runs after the build) into a scratch
// root: the release with production dependencies only, a node of its own that runs, the unit and
// the environment file; a second run keeps the operator's environment file and changes nothing else.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers/brain.js';

function install(root: string) {
  return spawnSync(path.join(ROOT, 'scripts', 'install-service.sh'), [], { env: { ...process.env, BRAIN_SERVICE_ROOT: root }, encoding: 'utf8', timeout: 120_000 });
}

describe('install.sh --service', () => {
  it('installs the release, a node the unit can reach, the unit and the environment file; again, it keeps the environment file', { timeout: 240_000 }, () => {
    const root = tempDir('brain-service-root-');
    const first = install(root);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('wrote /etc/brain/brain.env');
    const opt = path.join(root, 'opt', 'brain');
    // The unit's ExecStart names exactly these two files.
    const unit = fs.readFileSync(path.join(root, 'etc', 'systemd', 'system', 'brain.service'), 'utf8');
    expect(unit).toBe(fs.readFileSync(path.join(ROOT, 'deployment', 'brain.service'), 'utf8'));
    const exec = /^ExecStart=(\S+) (\S+) serve$/m.exec(unit)!;
    const node = path.join(root, exec[1]);
    const cli = path.join(root, exec[2]);
    expect(spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(process.version);
    const version = spawnSync(node, [cli, '--version'], { encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    // Production dependencies only: the test runner is not shipped, the database driver is.
    expect(fs.existsSync(path.join(opt, 'node_modules', 'vitest'))).toBe(false);
    expect(fs.existsSync(path.join(opt, 'node_modules', 'better-sqlite3'))).toBe(true);
    // The code is not writable by anyone but its owner.
    expect(fs.statSync(path.join(opt, 'dist', 'src', 'cli.js')).mode & 0o022).toBe(0);
    const env = path.join(root, 'etc', 'brain', 'brain.env');
    expect(fs.statSync(env).mode & 0o777).toBe(0o640);
    fs.appendFileSync(env, 'BRAIN_LOG_LEVEL=debug\n');

    const second = install(root);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('kept the existing /etc/brain/brain.env');
    expect(fs.readFileSync(env, 'utf8')).toMatch(/BRAIN_LOG_LEVEL=debug\n$/);
    expect(spawnSync(node, [cli, '--version'], { encoding: 'utf8' }).status).toBe(0);
  });
});
