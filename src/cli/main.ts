// The `brain` command, past its entry point (src/cli.ts). With no subcommand it is an MCP server
// on stdin/stdout (what Claude's config starts); in that mode stdout carries JSON-RPC only. The
// subcommands live in src/cli/ (program.ts lists them); this file parses the command line, runs
// one, and turns what went wrong into one sentence on stderr and the exit code `brain --help`
// documents.
import { packageVersion } from '../core/version.js';
import { DaemonStartError } from '../daemon/unix-socket.js';
import type { Command } from './command.js';
import { columns, commandName, helpText, leafRows, usageLine } from './help.js';
import { CliError, EXIT, print } from './output.js';
import { parseCommandLine, UsageError } from './parse.js';
import { program } from './program.js';

const sentence = (text: string) => (/[.!?)]$/.test(text) ? text : `${text}.`);

/** A command line brain does not understand: what is wrong, then how the command is used. */
function usageFailure(err: UsageError, path: readonly Command[]): void {
  const name = commandName(path);
  const cmd = path.at(-1)!;
  // A group names its few commands; brain itself only points to --help (its list is long).
  const usage = cmd.subcommands && path.length > 1 ? `${usageLine(path)}\n\nCommands:\n${columns(leafRows(path))}` : usageLine(path);
  process.stderr.write(`${name}: ${sentence(err.message)}\n${usage}\nRun "${name} --help" for more.\n`);
  process.exitCode = EXIT.usage;
}

/**
 * `--tools=memory,notes` (or `--tools memory,notes`) anywhere before `--` is BRAIN_TOOLS for this
 * run: the one option that takes a value, so it is read here and the config checks it like the
 * variable (a bad name is an error that names BRAIN_TOOLS).
 */
function takeToolsFlag(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--tools=')) env.BRAIN_TOOLS = arg.slice('--tools='.length);
    else if (arg === '--tools' && i + 1 < argv.length) env.BRAIN_TOOLS = argv[++i];
    else out.push(arg);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  argv = takeToolsFlag(argv, process.env);
  let parsed;
  try {
    parsed = parseCommandLine(program, argv);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(err, err.path ?? [program]);
    throw err;
  }
  if (parsed.kind === 'version') return print(packageVersion());
  if (parsed.kind === 'help') return print(helpText(parsed.path));
  try {
    const code = await parsed.path.at(-1)!.run!(parsed.invocation);
    if (typeof code === 'number') process.exitCode = code;
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(err, err.path ?? parsed.path);
    throw err;
  }
}

/** What to say about an error that ended a command, and its exit code. */
async function describe(err: unknown): Promise<[string, number]> {
  if (err instanceof CliError) return [err.message, err.code];
  // Loaded only now: it brings the SQLite driver, which --help and completion do without.
  const { DatabaseDamagedError, DatabaseVersionError, isCorruption } = await import('../core/db.js');
  if (err instanceof DatabaseVersionError || err instanceof DatabaseDamagedError) return [err.message, EXIT.database];
  // Damage that shows only when a page is read (a file larger than the check at open covers).
  if (isCorruption(err)) {
    return [`the database is damaged (${(err as Error).message}): run brain check, then restore the newest backup with brain restore FILE, or copy what is readable into a new file with brain recover`, EXIT.database];
  }
  if (err instanceof DaemonStartError) return [err.message, EXIT.failed];
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'SQLITE_CANTOPEN' || e?.code === 'EACCES') {
    return [`cannot open the database: ${e.message}. Check BRAIN_DB_PATH and that its directory is writable.`, EXIT.database];
  }
  return [`unexpected error: ${e?.stack ?? String(err)}`, EXIT.failed];
}

main(process.argv.slice(2)).catch(async (err: unknown) => {
  const [message, code] = await describe(err);
  process.stderr.write(`brain: ${sentence(message)}\n`);
  // A failed command may leave handles open (a daemon half started, stdin being read): leave now.
  process.exit(code);
});
