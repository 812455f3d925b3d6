// Cluster blueprints from the shell: check one before brain is set up, store it, list them.
// The blueprint code (YAML, schema) is loaded when a command runs (see context.ts).
import fs from 'node:fs';
import type { BlueprintView } from '../../clusters/service.js';
import { UserError } from '../../core/errors.js';
import { defineCommand } from '../command.js';
import { cliConfig, requireDatabase, withApp } from '../context.js';
import { CliError, EXIT, plural, print, printJson } from '../output.js';
import { columns } from '../help.js';

/**
 * A blueprint file's text. The size is checked on the open file before anything is read, so a
 * 50 MB file is refused at once; the read itself stops one byte past the limit in case the file
 * grew in between.
 */
function readBlueprintFile(file: string, limit: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(e.code === 'ENOENT' ? `${file} does not exist; give the path of the blueprint's YAML file.` : `cannot read ${file}: ${e.message}`, EXIT.usage);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new CliError(`${file} is not a file; give the blueprint's YAML file.`, EXIT.usage);
    const tooBig = (size: string) => new CliError(`${file} is ${size}; a blueprint may be at most ${limit} bytes (256 KiB). Nothing was read or saved.`);
    if (stat.size > limit) throw tooBig(`${stat.size} bytes`);
    const buf = Buffer.alloc(limit + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > limit) throw tooBig(`over ${limit} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A blueprint's problems are the file's: named with the file, exit code 1. */
function asFileProblem<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
}

const FILE = { name: 'FILE', description: "the blueprint's YAML file (at most 256 KiB)", complete: 'file' } as const;

const validate = defineCommand({
  name: 'validate',
  summary: 'check a cluster blueprint (YAML) without a database; exit code 1 naming every problem',
  json: true,
  args: [FILE],
  async run(inv) {
    const { blueprintSummary, loadBlueprint, MAX_BLUEPRINT_BYTES } = await import('../../clusters/blueprint.js');
    const file = inv.args.FILE!;
    const text = readBlueprintFile(file, MAX_BLUEPRINT_BYTES);
    // Validating needs no database: a blueprint can be checked before brain is set up.
    const s = asFileProblem(file, () => blueprintSummary(loadBlueprint(text)));
    if (inv.json) return printJson(s);
    print(
      [
        `${file}: a valid blueprint`,
        `id:       ${s.id} (${s.name}, version ${s.version})`,
        `type:     ${s.cluster_type}`,
        `agents:   ${s.agents.join(', ')}`,
        `workers:  ${s.workers.min} to ${s.workers.max}, ${s.workers.target} at start`,
      ].join('\n'),
    );
  },
});

const save = defineCommand({
  name: 'save',
  summary: 'store a blueprint (a new revision when it changed)',
  json: true,
  args: [FILE],
  async run(inv) {
    const { MAX_BLUEPRINT_BYTES } = await import('../../clusters/blueprint.js');
    const file = inv.args.FILE!;
    const text = readBlueprintFile(file, MAX_BLUEPRINT_BYTES);
    return withApp(await cliConfig(), (app) => {
      const saved = asFileProblem(file, () => app.clusters.blueprints.save(text));
      if (inv.json) return printJson(saved);
      print(saved.changed ? `saved blueprint ${saved.id} as revision ${saved.revision}` : `blueprint ${saved.id} is unchanged: revision ${saved.revision} already holds it`);
    });
  },
});

function listText(list: readonly BlueprintView[]): string {
  if (list.length === 0) return 'no blueprints stored (brain blueprint save FILE stores one)';
  const rows = list.map((b): [string, string] => [`${b.id} r${b.revision}`, `${b.name} (version ${b.version}, ${b.cluster_type}; ${plural(b.revisions ?? 1, "revision")}; saved ${b.created_at})`]);
  return columns(rows).replace(/^ {2}/gm, '');
}

const list = defineCommand({
  name: 'list',
  summary: 'list the stored blueprints (the latest revision of each)',
  json: true,
  async run(inv) {
    const config = await cliConfig();
    requireDatabase(config);
    return withApp(config, (app) => {
      const all = app.clusters.blueprints.list();
      if (inv.json) printJson(all);
      else print(listText(all));
    });
  },
});

export const blueprintGroup = defineCommand({
  name: 'blueprint',
  summary: 'cluster blueprints (YAML naming a team of agents): validate, save, list',
  details: 'The blueprint tool does the same for an assistant; see README, "Clusters".',
  subcommands: [validate, save, list],
});
