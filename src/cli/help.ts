// The --help texts and usage lines, made from the command declarations.
import { argSynopsis, optionsOf, synopsis, type Command } from './command.js';

/** `brain blueprint validate` for the path [root, blueprint, validate]. */
export function commandName(path: readonly Command[]): string {
  return path.map((c) => c.name).join(' ');
}

export function usageLine(path: readonly Command[]): string {
  return `Usage: ${[commandName(path), synopsis(path.at(-1)!, true)].filter(Boolean).join(' ')}`;
}

/** Two aligned columns, indented by two spaces. */
export function columns(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`.trimEnd()).join('\n');
}

/** Every runnable command below `path`, with its full usage: `brain maintenance on [REASON...]`. */
export function leafRows(path: readonly Command[]): [string, string][] {
  const cmd = path.at(-1)!;
  if (!cmd.subcommands) return [[[commandName(path), synopsis(cmd)].filter(Boolean).join(' '), cmd.summary]];
  const rows: [string, string][] = [];
  for (const sub of cmd.subcommands) {
    if (sub.hidden) continue;
    const subRows = leafRows([...path, sub]);
    // `brain [stdio]`: the subcommand that runs when none is named may be left out.
    if (sub.name === cmd.defaultSub) subRows[0][0] = subRows[0][0].replace(`${commandName(path)} ${sub.name}`, `${commandName(path)} [${sub.name}]`);
    rows.push(...subRows);
  }
  return rows;
}

/** Paragraphs are wrapped to the width of the command list beside them; short lines are kept as laid out. */
const WIDTH = 96;

function wrap(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (line.length <= WIDTH) return line;
      const out: string[] = [];
      let current = '';
      for (const word of line.split(' ')) {
        if (current && current.length + 1 + word.length > WIDTH) {
          out.push(current);
          current = word;
        } else current = current ? `${current} ${word}` : word;
      }
      return [...out, current].join('\n');
    })
    .join('\n');
}

function optionRows(cmd: Command): [string, string][] {
  return Object.entries(optionsOf(cmd)).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? `=${o.value.name}` : ''}`, o.description]);
}

export function helpText(path: readonly Command[]): string {
  const cmd = path.at(-1)!;
  // A sentence, except brain's own line, which starts with its name.
  const summary = path.length === 1 ? cmd.summary : cmd.summary.charAt(0).toUpperCase() + cmd.summary.slice(1) + (/[.)]$/.test(cmd.summary) ? '' : '.');
  const parts = [usageLine(path), summary, ...(cmd.details ? [wrap(cmd.details)] : [])];
  if (cmd.subcommands) {
    parts.push(`Commands:\n${columns(leafRows(path))}`);
  } else if (cmd.args?.length) {
    parts.push(`Arguments:\n${columns(cmd.args.map((a) => [argSynopsis(a), a.description]))}`);
  }
  parts.push(`Options:\n${columns(optionRows(cmd))}`);
  if (cmd.subcommands && path.length > 1) parts.push(`Run "${commandName(path)} <command> --help" for a command's own options.`);
  if (cmd.epilog) parts.push(cmd.epilog);
  return parts.join('\n\n');
}
