// brain export / brain import: everything a person would miss in a new database, as JSON lines.
// Each area writes and reads its own kinds (App.transfers, in the order an import needs); this
// module only moves lines between a file and them. Import also reads the memory.jsonl of
// @modelcontextprotocol/server-memory.
import fs from 'node:fs';
import readline from 'node:readline';
import type { App } from '../../app.js';
import { MAX_IMPORT_ERRORS, type ExportRecord, type KindTally, type NumberedRecord } from '../../core/transfer.js';
import { defineCommand } from '../command.js';
import { cliConfig, requireDatabase, withApp } from '../context.js';
import { CliError, count, EXIT, note, plural, print, printJson } from '../output.js';
import { UsageError } from '../parse.js';
import { progress, quiet } from '../progress.js';

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write everything as JSON lines: projects, memories and their versions, notes, events, blueprints and clusters',
  details:
    'brain import reads the file back (into this or another database; into an empty one it restores them all). Sessions, executions and logs are not part of it. The count of records goes to stderr.',
  json: true,
  args: [{ name: 'FILE', description: 'where to write (created with mode 0600); stdout when - or left out', optional: true, complete: 'file' }],
  options: {
    format: {
      description: 'brain (the default), or server-memory: memories and their relations as a memory.jsonl that @modelcontextprotocol/server-memory loads',
      value: { name: 'FORMAT', choices: ['brain', 'server-memory'] },
    },
  },
  async run(inv) {
    const file = inv.args.FILE;
    const serverMemory = inv.values.format === 'server-memory';
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
        // Synchronous writes in batches: memory stays flat however large the store is.
        let batch: string[] = [];
        const lines = serverMemory ? app.memories.exportServerMemory() : (function* () {
          for (const area of app.transfers) for (const record of area.exportRecords()) yield JSON.stringify(record);
        })();
        for (const line of lines) {
          batch.push(line);
          n++;
          if (batch.length === 1000) {
            fs.writeSync(fd, batch.join('\n') + '\n');
            batch = [];
            bar.tick(n);
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
    if (inv.json) printJson({ file, records: n, format: serverMemory ? 'server-memory' : 'brain' });
    else note(`exported ${plural(n, 'record')}${toFile ? ` to ${file}` : ''}`);
  },
});

async function readLines(file: string): Promise<string[]> {
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  const lines: string[] = [];
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) lines.push(line);
  return lines;
}

interface ImportReport {
  format: 'brain' | 'server-memory';
  created: number;
  updated: number;
  skipped: number;
  /** Earlier versions of memories added. */
  history: number;
  /** brain format: what happened to each kind of record in the file. */
  kinds?: Record<string, KindTally>;
  errors: string[];
}

/** The file's objects, each with its line number; lines that are not JSON objects are errors. */
function parseLines(lines: string[], errors: string[]): NumberedRecord[] {
  const records: NumberedRecord[] = [];
  lines.forEach((text, i) => {
    if (!text.trim()) return;
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
      records.push({ line: i + 1, value: value as ExportRecord });
    } catch (err) {
      errors.push(`line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return records;
}

/** Hands each area the records of its kinds, in the areas' order, and adds up what they did. */
const IMPORT_CACHE_MB = 64;

function importBrain(app: App, records: NumberedRecord[], errors: string[], onProgress: (done: number, total: number) => void): ImportReport {
  const report: ImportReport = { format: 'brain', created: 0, updated: 0, skipped: 0, history: 0, kinds: {}, errors };
  const owner = new Map(app.transfers.flatMap((area) => area.kinds.map((kind) => [kind, area] as const)));
  const byArea = new Map(app.transfers.map((area) => [area, [] as NumberedRecord[]]));
  for (const r of records) {
    const area = owner.get(String(r.value.kind));
    if (area) byArea.get(area)!.push(r);
    else errors.push(`line ${r.line}: "kind" ${JSON.stringify(r.value.kind)} is not one brain exports (${[...owner.keys()].join(', ')})`);
  }
  let done = 0;
  for (const [area, mine] of byArea) {
    if (!mine.length) continue;
    const result = area.importRecords(mine, (n) => onProgress(done + n, records.length));
    done += mine.length;
    onProgress(done, records.length);
    errors.push(...result.errors);
    for (const kind of area.kinds) {
      const t = result.kinds[kind];
      if (!mine.some((r) => r.value.kind === kind)) continue;
      report.kinds![kind] = t;
      if (kind === 'memory_history') report.history += t.created;
      else {
        report.created += t.created;
        report.updated += t.updated ?? 0;
        report.skipped += t.skipped;
      }
    }
  }
  // Bad lines are named in line order, the first ones only.
  errors.sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
  errors.splice(MAX_IMPORT_ERRORS);
  return report;
}

/** "memory 2 created, 1 skipped; note 3 created" for the kinds other than plain memories. */
function kindsText(kinds: Record<string, KindTally>): string {
  return Object.entries(kinds)
    .filter(([kind]) => kind !== 'memory' && kind !== 'memory_history')
    .map(([kind, t]) => `${kind.replaceAll('_', ' ')} ${count(t.created)} created${t.skipped ? `, ${count(t.skipped)} skipped` : ''}`)
    .join('; ');
}

export const importCommand = defineCommand({
  name: 'import',
  summary: 'read a brain export (JSON lines), or a server-memory memory.jsonl',
  details:
    'Into an empty database a brain export restores everything it holds. What is stored already is left alone: a memory with the same text, a project, note path, blueprint revision or cluster that exists, an event already logged; a changed memory becomes a new version (the old text stays in its history). A file with bad lines imports its good lines and exits 1, naming the bad ones.',
  json: true,
  args: [{ name: 'FILE', description: 'the file to read; - reads stdin', complete: 'file' }],
  async run(inv) {
    const file = inv.args.FILE!;
    if (file !== '-' && !fs.existsSync(file)) throw new CliError(`${file} does not exist; give the path of a brain export or a server-memory memory.jsonl.`, EXIT.usage);
    const config = await cliConfig();
    const bar = progress('import');
    let report: ImportReport;
    try {
      bar.step(`reading ${file === '-' ? 'stdin' : file}`);
      const lines = await readLines(file);
      bar.step('importing');
      const errors: string[] = [];
      const records = parseLines(lines, errors);
      // brain's lines say what they are ("kind"); server-memory's say "type" (entity or relation).
      const brainFormat = records.length === 0 || 'kind' in records[0].value;
      report = await withApp(config, (app) => {
        // A one-shot bulk write: a page cache of at least 64 MB for this process alone (the serving
        // default is 16) keeps the FTS5 index's pages at hand; 5 % faster at a million memories.
        if (config.cacheSizeMb < IMPORT_CACHE_MB) app.db.pragma(`cache_size = -${IMPORT_CACHE_MB * 1024}`);
        if (brainFormat) return importBrain(app, records, errors, (done, total) => bar.tick(done, total));
        const r = app.memories.importServerMemory(records, (done, total) => bar.tick(done, total));
        return { ...r, errors: [...errors, ...r.errors].slice(0, MAX_IMPORT_ERRORS) };
      });
    } finally {
      bar.end();
    }
    if (inv.json) printJson(report);
    else {
      const from = file === '-' ? 'stdin' : file;
      const others = report.kinds ? kindsText(report.kinds) : '';
      print(
        `imported ${from} (${report.format} format): ${count(report.created)} created, ${count(report.updated)} updated, ` +
          `${count(report.skipped)} skipped (unchanged, or older than what is stored), ${plural(report.history, 'earlier version')} added` +
          (report.errors.length ? `; ${plural(report.errors.length, 'bad line')}` : '') +
          (others ? `\n  besides memories: ${others}` : ''),
      );
      for (const e of report.errors) process.stderr.write(`brain import: ${e}\n`);
    }
    return report.errors.length ? EXIT.failed : EXIT.ok;
  },
});
