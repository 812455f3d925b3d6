// The README's two commands are enough: `./scripts/install.sh --dev` installs every program a test
// runs besides brain, a test whose program is missing says which package to install, and .ci/run
// runs exactly the README's commands. (.ci/fresh-machine runs them on a machine without promtool.)
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/brain.js';
import { findTool, requireTool } from './helpers/tools.js';

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

describe('test prerequisites', () => {
  it('a missing program fails with a sentence naming its package and how to install it', () => {
    const saved = process.env.PATH;
    try {
      process.env.PATH = '/nonexistent';
      expect(() => requireTool('promtool', 'prometheus')).toThrow(
        'promtool is not installed, and this test runs it: it comes with the Debian package prometheus. Install the test prerequisites with `./scripts/install.sh --dev` (or `sudo apt-get install prometheus`), then run npm test again.',
      );
    } finally {
      process.env.PATH = saved;
    }
    expect(requireTool('sh', 'dash')).toBe(findTool('sh'));
    expect(findTool('sh', '/nonexistent')).toBeUndefined();
  });

  it('install.sh --dev installs the package of every program the tests require', () => {
    const script = read('scripts/install.sh');
    const devList = /dev_pkgs=\(([^)]*)\)/.exec(script);
    expect(devList, 'scripts/install.sh has a dev_pkgs=(...) list').not.toBeNull();
    const installed = new Set(devList![1].trim().split(/\s+/));
    const required = new Map<string, string>();
    // Every test file but this one, whose calls exercise requireTool itself.
    for (const file of fs.readdirSync(path.join(ROOT, 'test')).filter((f) => f.endsWith('.test.ts') && f !== 'install.test.ts')) {
      for (const m of read(path.join('test', file)).matchAll(/requireTool\('([^']+)', '([^']+)'\)/g)) required.set(m[1], m[2]);
    }
    // The programs these tests run (the first three failed on a fresh machine as `expected null to be +0`).
    expect([...required.keys()]).toEqual(expect.arrayContaining(['promtool', 'systemd-analyze', 'zsh', 'script']));
    for (const [program, pkg] of required) expect(installed.has(pkg), `${program} (${pkg}) is in install.sh's dev_pkgs`).toBe(true);
  });

  it('the README documents install.sh --dev before npm test, and .ci/run runs exactly those commands', () => {
    const readme = read('README.md');
    const tests = readme.slice(readme.indexOf('## Run the tests'));
    expect(tests).toMatch(/```sh\n\.\/scripts\/install\.sh --dev +#[^\n]*\nnpm test\n```/);
    const ci = read('.ci/run');
    expect(ci).toMatch(/^\.\/scripts\/install\.sh --dev$/m);
    expect(ci).toMatch(/^npm test$/m);
    expect(ci.indexOf('./scripts/install.sh --dev')).toBeLessThan(ci.indexOf('\nnpm test\n'));
    expect(ci).toMatch(/^npm run test:package$/m);
    expect(ci).toMatch(/^\.ci\/fresh-machine$/m);
  });
});
