// The README's tool table is generated from the tool definitions; it must match them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/brain.js';

describe('README', () => {
  it('lists every tool as tools/list does (run `npm run docs` after changing a tool)', () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'readme-tools.mjs'), '--check'], { encoding: 'utf8' });
    expect(out).toMatch(/up to date/);
  });

  it('starts with install-and-run, then the one test command', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const install = readme.indexOf('## Install and run');
    const tests = readme.indexOf('## Run the tests');
    expect(install).toBeGreaterThan(0);
    expect(tests).toBeGreaterThan(install);
    expect(readme.slice(tests)).toMatch(/```sh\n(?:[^\n]*\n)?npm test\n```/);
    expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
