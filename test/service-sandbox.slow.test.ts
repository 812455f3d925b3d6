// The hardened unit still lets `execute` hold its guarantees: scripts/check-service-sandbox.sh runs
// the sandbox attack and isolation suites as a systemd-run unit with every sandboxing setting of
// deployment/brain.service (NoNewPrivileges, the system-call filter, the capability bounding set,
// ProtectControlGroups, RestrictSUIDSGID, ProtectHostname, ...). Where PID 1 is not systemd (CI
// runs in a container) the script boots one with systemd-nspawn first, about a minute on top of
// the suites, so this file is not part of `npm test`: `npm run test:package` runs it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/brain.js';
import { requireTool } from './helpers/tools.js';

describe('deployment/brain.service and the sandbox', () => {
  it('the attack and isolation suites pass under the unit\'s settings', () => {
    // brain.service runs as root, and only root can start a unit or boot a container.
    if (process.getuid?.() !== 0) return;
    requireTool('systemd-run', 'systemd');
    // Without systemd as PID 1 the script boots a container that has it.
    if (!fs.existsSync('/run/systemd/system')) requireTool('systemd-nspawn', 'systemd-container');
    const r = spawnSync(path.join(ROOT, 'scripts', 'check-service-sandbox.sh'), [], { cwd: ROOT, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
    // Colours stripped: vitest puts escape codes between the words of its summary.
    const out = `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[\d;]*m/g, '');
    expect(r.status, out.slice(-6000)).toBe(0);
    // Both suites ran, and every test in them passed (vitest's summary).
    expect(out).toMatch(/Test Files\s+2 passed/);
    expect(out).not.toMatch(/\bfailed\b/);
  }, 900_000);
});
