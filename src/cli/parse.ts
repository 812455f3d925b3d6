// Turns `brain ...` arguments into a command and its invocation with Node's own util.parseArgs
// (strict: an option the command does not declare is an error, never an argument). A word that
// starts with "-" is always an option; a file name that starts with "-" goes after "--".
import { parseArgs } from 'node:util';
import { optionsOf, type Command, type Invocation } from './command.js';

/**
 * A command line brain does not understand; exit code 2, with the usage of the command at `path`
 * (a command's handler leaves it out: the command that runs is the one meant).
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly path?: readonly Command[],
  ) {
    super(message);
  }
}

export type Parsed =
  | { kind: 'help'; path: Command[] }
  | { kind: 'version' }
  | { kind: 'run'; path: Command[]; invocation: Invocation };

const isHelp = (word: string) => word === '-h' || word === '--help';

/** The words before "--" (after it everything is an argument, even "--help"). */
const beforeDashes = (words: readonly string[]) => (words.includes('--') ? words.slice(0, words.indexOf('--')) : words);

export function parseCommandLine(root: Command, argv: readonly string[]): Parsed {
  const path: Command[] = [root];
  let words = argv;
  for (let cmd = root; cmd.subcommands; cmd = path.at(-1)!) {
    const [word, ...rest] = words;
    if (word !== undefined && !word.startsWith('-')) {
      const sub = cmd.subcommands.find((c) => c.name === word);
      if (!sub) throw new UsageError(`unknown command "${[...path.slice(1).map((c) => c.name), word].join(' ')}"`, path);
      path.push(sub);
      words = rest;
      continue;
    }
    const options = beforeDashes(words);
    if (options.some(isHelp)) return { kind: 'help', path };
    if (cmd === root && options.some((w) => w === '-v' || w === '--version')) return { kind: 'version' };
    const fallback = cmd.subcommands.find((c) => c.name === cmd.defaultSub);
    if (!fallback) {
      const names = cmd.subcommands.filter((c) => !c.hidden).map((c) => c.name);
      throw new UsageError(word === undefined ? `say which command: ${names.join(', ')}` : `unknown option "${word}" (options go after the command: ${names.join(', ')})`, path);
    }
    path.push(fallback);
  }
  return parseLeaf(path, words);
}

/**
 * The first word before "--" that looks like an option but is none of the command's, whole: for
 * `-notes.jsonl` parseArgs would name only "-n" (it reads a group of one-letter options).
 */
function unknownOption(declared: Record<string, { short?: string }>, words: readonly string[]): string | undefined {
  const longs = new Set(Object.keys(declared).map((name) => `--${name}`));
  const shorts = new Set(Object.values(declared).flatMap((o) => (o.short ? [o.short] : [])));
  return beforeDashes(words).find((w) => {
    if (w === '-' || !w.startsWith('-')) return false;
    if (w.startsWith('--')) return !longs.has(w.split('=')[0]);
    return ![...w.slice(1)].every((letter) => shorts.has(letter));
  });
}

function parseLeaf(path: Command[], words: readonly string[]): Parsed {
  const cmd = path.at(-1)!;
  const declared = optionsOf(cmd);
  // --help wins over any other mistake on the line: someone who asks for help gets it.
  if (beforeDashes(words).some(isHelp)) return { kind: 'help', path };
  const unknown = unknownOption(declared, words);
  if (unknown !== undefined) throw new UsageError(unknownMessage(cmd, unknown), path);
  let values: Record<string, boolean | string | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...words],
      options: Object.fromEntries(Object.entries(declared).map(([name, o]) => [name, { type: o.value ? ('string' as const) : ('boolean' as const), ...(o.short ? { short: o.short } : {}) }])),
      allowPositionals: true,
      strict: true,
    }) as { values: Record<string, boolean | string | undefined>; positionals: string[] });
  } catch (err) {
    throw new UsageError(parseProblem(cmd, err as Error & { code?: string }), path);
  }

  const args: Record<string, string | undefined> = {};
  let restWords: string[] = [];
  const specs = cmd.args ?? [];
  let i = 0;
  for (const spec of specs) {
    if (spec.rest) {
      restWords = positionals.slice(i);
      i = positionals.length;
      if (!spec.optional && restWords.length === 0) throw new UsageError(`missing ${spec.name} (${spec.description})`, path);
      continue;
    }
    const value = positionals[i];
    if (value === undefined) {
      if (!spec.optional) throw new UsageError(`missing ${spec.name} (${spec.description})`, path);
      continue;
    }
    if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`"${value}" is not a ${spec.name}: use one of ${spec.choices.join(', ')}`, path);
    args[spec.name] = value;
    i++;
  }
  if (i < positionals.length) throw new UsageError(`unexpected argument "${positionals[i]}"`, path);

  const options: Record<string, boolean> = {};
  const given: Record<string, string> = {};
  for (const [name, v] of Object.entries(values)) {
    if (typeof v === 'string') {
      const { choices } = declared[name].value!;
      if (!choices.includes(v)) throw new UsageError(`"${v}" is not a --${name}: use one of ${choices.join(', ')}`, path);
      given[name] = v;
    } else if (v !== undefined && name !== 'json' && name !== 'help') options[name] = v;
  }
  return { kind: 'run', path, invocation: { args, rest: restWords, options, values: given, json: values.json === true } };
}

/** parseArgs' message, said the way brain says things (its own is long and names no command). */
function parseProblem(cmd: Command, err: Error & { code?: string }): string {
  const option = /'([^' ]+)/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return unknownMessage(cmd, option);
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const value = cmd.options?.[option.replace(/^--/, '')]?.value;
    return value ? `${option} needs a value: ${value.choices.join(', ')}` : `${option} takes no value`;
  }
  return err.message.split('\n')[0];
}

function unknownMessage(cmd: Command, option: string): string {
  const takesFiles = (cmd.args ?? []).some((a) => a.complete === 'file' || a.complete === 'dir');
  return `unknown option "${option}"${takesFiles ? `; a file name that starts with "-" goes after "--" (-- ${option})` : ''}`;
}
