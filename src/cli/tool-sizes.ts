// What each capability group costs the assistant's context, for `brain doctor`, the README table
// and the bench: every conversation pays for tools/list before its first word.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { App, CapabilityGroup } from '../app.js';
import type { Config } from '../core/config.js';
import { toolListBytes } from '../core/server.js';
import type { Check } from '../doctor.js';

export interface GroupCost {
  name: CapabilityGroup['name'];
  enabled: boolean;
  tools: string[];
  /** Bytes of name, description and input schema: what the model reads. */
  visible: number;
  /** Bytes of the group's part of the tools/list answer as sent. */
  whole: number;
}

export function capabilityCosts(app: Pick<App, 'capabilities'>): GroupCost[] {
  return app.capabilities.map((g) => ({ name: g.name, enabled: g.enabled, tools: g.tools.map((t) => t.name), ...toolListBytes(g.tools) }));
}

/** The figures for the tools this brain offers (the enabled groups together). */
export function offeredCost(app: Pick<App, 'tools'>): { visible: number; whole: number } {
  return toolListBytes(app.tools);
}

/**
 * One doctor line per group, saying whether it is on and what it costs; never a failure. Measured
 * on a scratch store in a temporary folder: the schemas do not depend on the data, and a doctor run
 * must not depend on (or change) the database it is checking.
 */
export async function toolSizeChecks(config: Config): Promise<Check[]> {
  const { createApp } = await import('../app.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'brain-doctor-tools-'));
  try {
    const app = createApp({
      ...config,
      dbPath: path.join(dir, 'brain.db'),
      notesPath: path.join(dir, 'notes'),
      executionPath: path.join(dir, 'executions'),
      backupPath: path.join(dir, 'backups'),
      logFiles: false,
      notesWatch: false,
      recallIndex: false,
    });
    try {
      const offered = offeredCost(app);
      return [
        ...capabilityCosts(app).map((g) => ({
          name: `tools: ${g.name}`,
          ok: true,
          optional: true,
          detail: `${g.name === 'init' ? 'always on' : g.enabled ? 'on' : 'off'}, ${g.tools.join(', ')}: ${g.visible} bytes the model reads, ${g.whole} in tools/list`,
        })),
        {
          name: 'tools offered',
          ok: true,
          optional: true,
          detail: `${app.tools.length} tools (BRAIN_TOOLS=${config.tools.join(',')}): ${offered.visible} bytes the model reads in every conversation, ${offered.whole} in tools/list`,
        },
      ];
    } finally {
      app.close();
    }
  } catch (err) {
    return [{ name: 'tool sizes', ok: false, optional: true, detail: `could not be measured: ${(err as Error).message}` }];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
