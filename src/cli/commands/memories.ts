// The memory store from the shell: statistics and a rebalance.
import type { App } from '../../app.js';
import { defineCommand } from '../command.js';
import { cliConfig, requireDatabase, withApp } from '../context.js';
import { bytes, count, plural, print, printJson, seconds, tally } from '../output.js';

type Stats = ReturnType<App['memories']['stats']>;
type Rebalance = ReturnType<App['memories']['rebalance']>;

function statsText(s: Stats): string {
  const moves = s.tier_moves;
  const last = moves.recent[0] as { at?: string; trigger?: string } | undefined;
  return [
    `memories:          ${count(s.total)} (hot ${count(s.hot.items)}, warm ${count(s.warm.items)})`,
    `hot tier:          ${count(s.hot.items)} of ${count(s.hot.budget_items)} items, ${bytes(s.hot.bytes)} of ${bytes(s.hot.budget_bytes)}`,
    `warm tier:         ${bytes(s.warm.bytes)}`,
    `by type:           ${tally(s.by_type)}`,
    `by project:        ${tally(s.by_project)}`,
    `earlier versions:  ${tally(s.history)}`,
    `tier moves:        ${count(moves.promoted_total)} promoted, ${count(moves.demoted_total)} demoted${last?.at ? `; last ${last.at} UTC (${last.trigger})` : ''}`,
    `database:          ${bytes(s.database_bytes)}`,
  ].join('\n');
}

export const statsCommand = defineCommand({
  name: 'stats',
  summary: 'memory statistics: tiers, types, projects, earlier versions, database size',
  json: true,
  run: async (inv) => {
    const config = await cliConfig();
    requireDatabase(config);
    return withApp(config, (app) => {
      const s = app.memories.stats();
      if (inv.json) printJson(s);
      else print(statsText(s));
    });
  },
});

function rebalanceText(r: Rebalance): string {
  return `rebalanced: ${plural(r.promoted, 'memory', 'memories')} promoted to hot, ${count(r.demoted)} demoted to warm; the hot tier holds ${count(r.hot_items)} (${bytes(r.hot_bytes)}), in ${seconds(r.elapsed_ms)}`;
}

export const rebalanceCommand = defineCommand({
  name: 'rebalance',
  summary: 'recompute memory scores and move memories between the hot and warm tiers',
  json: true,
  run: async (inv) => {
    const config = await cliConfig();
    requireDatabase(config);
    return withApp(config, (app) => {
      const r = app.memories.rebalance('manual');
      if (inv.json) printJson(r);
      else print(rebalanceText(r));
    });
  },
});
