// What a `brain` subcommand is: its words, arguments, options and handler, in one declaration
// from which the parser, every --help text and the shell completion scripts are made, so the
// three cannot drift apart.

/** What a shell offers for a value: file names, directory names, or a fixed list of words. */
export type Completion = 'file' | 'dir' | readonly string[];

/**
 * A flag. Most take no value (what varies is an argument, FILE or DIR); one with `value` takes
 * one of its words (--format=server-memory, or --format server-memory).
 */
export interface OptionSpec {
  short?: string;
  description: string;
  value?: { name: string; choices: readonly string[] };
}

export interface ArgSpec {
  /** Upper-case placeholder, as in the usage line (FILE, DIR). */
  name: string;
  description: string;
  optional?: boolean;
  /** Takes every remaining word (REASON...). */
  rest?: boolean;
  /** The only words allowed; anything else is a usage error. */
  choices?: readonly string[];
  complete?: Completion;
}

/** One parsed command line, handed to the command's handler. */
export interface Invocation {
  /** Positional arguments by their placeholder name. */
  args: Record<string, string | undefined>;
  /** The words a `rest` argument took. */
  rest: string[];
  /** The flags given, by long name. */
  options: Record<string, boolean>;
  /** The values of the options that take one, by long name. */
  values: Record<string, string>;
  /** --json: print the result as JSON instead of text for people. */
  json: boolean;
}

/** An exit code, or nothing for 0. */
export type Outcome = number | void;

export interface Command {
  name: string;
  /** One line for the command lists. */
  summary: string;
  /** More text for the command's own --help, after the summary. */
  details?: string;
  /** Text at the end of the command's own --help (brain's exit codes). */
  epilog?: string;
  args?: readonly ArgSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** Accepts --json. */
  json?: boolean;
  subcommands?: readonly Command[];
  /** The subcommand that runs when none is named (`brain` = `brain stdio`). */
  defaultSub?: string;
  /** Left out of the command lists and completion (aliases such as `brain version`). */
  hidden?: boolean;
  run?: (inv: Invocation) => Promise<Outcome> | Outcome;
}

export function defineCommand(command: Command): Command {
  return command;
}

/** The options every command has, besides its own. */
export function optionsOf(command: Command): Record<string, OptionSpec> {
  const all: Record<string, OptionSpec> = { ...command.options };
  if (command.json) all.json = { description: 'print the result as JSON (for scripts)' };
  all.help = { short: 'h', description: 'show this help and exit' };
  return all;
}

/** `FILE`, `[DIR]`, `REASON...`, `[REASON...]`. */
export function argSynopsis(arg: ArgSpec): string {
  const word = arg.choices ? arg.choices.join('|') : arg.name;
  const text = arg.rest ? `${word}...` : word;
  return arg.optional ? `[${text}]` : text;
}

/**
 * What follows the command's name in a usage line: its own flags (`[--check]`), its arguments,
 * and in its own usage `[options]` for the ones every command has.
 */
export function synopsis(command: Command, withOptions = false): string {
  if (command.subcommands) {
    const sub = command.defaultSub ? '[<command>]' : '<command>';
    return withOptions ? `${sub} [options]` : sub;
  }
  const flags = Object.keys(command.options ?? {}).map((name) => `[--${name}]`);
  return [...flags, ...(withOptions ? ['[options]'] : []), ...(command.args ?? []).map(argSynopsis)].join(' ');
}
