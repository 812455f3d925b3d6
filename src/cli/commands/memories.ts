// The memory store from the shell: statistics, a rebalance, and export/import as JSON lines.
import fs from 'node:fs';
import readline from 'node:readline';
import type { App } from '../../app.js';
import { defineCommand } from '../command.js';
import { cliConfig, requireDatabase, withApp } from '../context.js';
import { bytes, CliError, count, EXIT, note, plural, print, printJson, seconds, tally } from '../output.js';
import { UsageError } from '../parse.js';
import { progress, quiet } from '../progress.js';

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

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write every memory (and earlier versions) as JSON lines',
  details: 'brain import reads the file back (into this or another database). The count of records goes to stderr.',
  json: true,
  args: [{ name: 'FILE', description: 'where to write (created with mode 0600); stdout when - or left out', optional: true, complete: 'file' }],
  async run(inv) {
    const file = inv.args.FILE;
    const toFile = file !== undefined && file !== '-';
    if (inv.json && !toFile) throw new UsageError('--json needs a FILE: without one, the export itself is what goes to stdout');
    const config = await cliConfig();
    requireDatabase(config);
    let fd = 1;
    if (toFile) {
      try {
        fd = fs.openSync(file, 'w', 0o600);
      } catch (err) {
        throw new CliError(`cannot write ${file} (${(err as Error).message}); name a file in a directory you can write to.`, EXIT.usage);
      }
    }
    // On a terminal the records themselves would run through the progress line.
    const bar = toFile || !process.stdout.isTTY ? progress('export') : quiet;
    let n = 0;
    try {
      await withApp(config, (app) => {
        bar.step('writing records');
        let total: number | undefined;
        if (bar.active) {
          const s = app.memories.stats();
          total = s.total + Object.values(s.history).reduce((a, b) => a + b, 0);
        }
        // Synchronous writes in batches: memory stays flat however large the store is.
        let batch: string[] = [];
        for (const line of app.memories.exportLines()) {
          batch.push(line);
          n++;
          if (batch.length === 1000) {
            fs.writeSync(fd, batch.join('\n') + '\n');
            batch = [];
            bar.tick(n, total);
          }
        }
        if (batch.length) fs.writeSync(fd, batch.join('\n') + '\n');
        bar.tick(n, n);
      });
    } catch (err) {
      // A reader that stops early (`brain export | head`) is not an error.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw new CliError(`export failed after ${n} records: ${(err as Error).message}`);
    } finally {
      bar.end();
      if (fd !== 1) fs.closeSync(fd);
    }
    if (inv.json) printJson({ file, records: n });
    else note(`exported ${plural(n, 'record')}${toFile ? ` to ${file}` : ''}`);
  },
});

async function readLines(file: string): Promise<string[]> {
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  const lines: string[] = [];
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) lines.push(line);
  return lines;
}

export const importCommand = defineCommand({
  name: 'import',
  summary: 'read JSON lines from brain export, or a server-memory memory.jsonl',
  details:
    'A memory already stored with the same text is left alone; a changed one becomes a new version (the old text stays in its history). A file with bad lines imports its good lines and exits 1, naming the bad ones.',
  json: true,
  args: [{ name: 'FILE', description: 'the file to read; - reads stdin', complete: 'file' }],
  async run(inv) {
    const file = inv.args.FILE!;
    if (file !== '-' && !fs.existsSync(file)) throw new CliError(`${file} does not exist; give the path of a brain export or a server-memory memory.jsonl.`, EXIT.usage);
    const config = await cliConfig();
    const bar = progress('import');
    let report;
    try {
      bar.step(`reading ${file === '-' ? 'stdin' : file}`);
      const lines = await readLines(file);
      bar.step('importing');
      report = await withApp(config, (app) => app.memories.importLines(lines, (done, total) => bar.tick(done, total)));
    } finally {
      bar.end();
    }
    if (inv.json) printJson(report);
    else {
      const from = file === '-' ? 'stdin' : file;
      print(
        `imported ${from} (${report.format} format): ${count(report.created)} created, ${count(report.updated)} updated, ` +
          `${count(report.skipped)} skipped (unchanged, or older than what is stored), ${plural(report.history, 'earlier version')} added` +
          (report.errors.length ? `; ${plural(report.errors.length, 'bad line')}` : ''),
      );
      for (const e of report.errors) process.stderr.write(`brain import: ${e}\n`);
    }
    return report.errors.length ? EXIT.failed : EXIT.ok;
  },
});
