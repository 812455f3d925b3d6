// What each capability group costs the assistant's context, for `brain doctor`, the README table
// and the bench: every conversation pays for tools/list before its first word.
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

/** One doctor line per group, saying whether it is on and what it costs; never a failure. */
export async function toolSizeChecks(config: Config): Promise<Check[]> {
  const { createApp } = await import('../app.js');
  const app = createApp(config);
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
}
