// Shell completion scripts for bash and zsh, made from the command declarations: the commands,
// each command's options, and for its arguments file names, directory names or fixed words.
// Both scripts walk the words typed so far the same way the parser does: words that start with
// "-" are options (until "--"), command words come first, everything after them is an argument.
import { optionsOf, type ArgSpec, type Command } from './command.js';

interface Node {
  /** '' for brain itself, '/blueprint/validate' below it. */
  key: string;
  command: Command;
  /** The visible subcommands. */
  subs: Command[];
  /** Options offered here: the command's, and for a group those of the subcommand that runs by default. */
  options: string[];
  /** Option names with their descriptions (zsh shows them). */
  described: [string, string][];
}

function nodes(root: Command): Node[] {
  const out: Node[] = [];
  const walk = (command: Command, key: string) => {
    const fallback = command.subcommands?.find((c) => c.name === command.defaultSub);
    const own = Object.entries({ ...(fallback ? optionsOf(fallback) : {}), ...optionsOf(command) });
    // An option with a value is offered once per value (--format=server-memory): a shell then
    // completes the whole word, and the value never looks like an argument.
    const described: [string, string][] = own.flatMap(([name, o]) => [
      ...(o.value ? o.value.choices.map((c) => [`--${name}=${c}`, o.description] as [string, string]) : [[`--${name}`, o.description] as [string, string]]),
      ...(o.short ? [[`-${o.short}`, o.description] as [string, string]] : []),
    ]);
    out.push({ key, command, subs: (command.subcommands ?? []).filter((c) => !c.hidden), options: described.map(([n]) => n), described });
    for (const sub of command.subcommands ?? []) walk(sub, `${key}/${sub.name}`);
  };
  walk(root, '');
  return out;
}

/** What to offer for an argument: file, dir, words:<space-separated>, or none. */
function argKind(arg: ArgSpec): string {
  const c = arg.choices ?? arg.complete;
  if (c === undefined) return 'none';
  return typeof c === 'string' ? c : `words:${c.join(' ')}`;
}

/** `case` branches from "<key>:<position>" to a kind; a `rest` argument takes every later position. */
function argCases(all: Node[], indent: string): string {
  const lines: string[] = [];
  for (const n of all) {
    (n.command.args ?? []).forEach((arg, i) => {
      const pattern = arg.rest ? `"${n.key}:"*` : `"${n.key}:${i}"`;
      lines.push(`${indent}${pattern}) kind=${sq(argKind(arg))} ;;`);
    });
  }
  return lines.join('\n');
}

/** Single-quoted for either shell. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The loop both shells run over the words before the cursor (bash arrays start at 0, zsh's at 1). */
function walkWords(all: Node[], first: string, word: string): string {
  const commandKeys = all.filter((n) => n.key !== '').map((n) => `"${n.key}"`);
  return `  local cmdpath='' npos=0 dashes='' i w
  for ((i = ${first}; i < ${word === 'zsh' ? 'CURRENT' : 'COMP_CWORD'}; i++)); do
    w=\${${word === 'zsh' ? 'words' : 'COMP_WORDS'}[i]}
    if [[ -z $dashes && $w == -- ]]; then dashes=1; continue; fi
    if [[ -z $dashes && $w == -* ]]; then continue; fi
    if ((npos == 0)); then
      case "$cmdpath/$w" in
        ${commandKeys.join('|')}) cmdpath="$cmdpath/$w"; continue ;;
      esac
    fi
    npos=$((npos + 1))
  done`;
}

export function bashCompletion(root: Command): string {
  const all = nodes(root);
  const lists = all.map((n) => `    ${sq(n.key)}) opts=${sq(n.options.join(' '))}; subs=${sq(n.subs.map((s) => s.name).join(' '))} ;;`);
  return `# bash completion for brain, made by \`brain completion bash\`.
# Load it from ~/.bashrc with:  source <(brain completion bash)
# or install it:  brain completion bash > ~/.local/share/bash-completion/completions/brain
_brain() {
  local cur=\${COMP_WORDS[COMP_CWORD]} opts='' subs='' kind=none
${walkWords(all, '1', 'bash')}
  case "$cmdpath" in
${lists.join('\n')}
  esac
  if [[ -z $dashes && $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return
  fi
  if [[ -z $dashes && -n $subs ]] && ((npos == 0)); then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    return
  fi
  case "$cmdpath:$npos" in
${argCases(all, '    ')}
  esac
  # File names may hold spaces: one per line.
  case $kind in
    file) compopt -o filenames 2>/dev/null; local IFS=$'\\n'; COMPREPLY=($(compgen -f -- "$cur")) ;;
    dir) compopt -o filenames 2>/dev/null; local IFS=$'\\n'; COMPREPLY=($(compgen -d -- "$cur")) ;;
    words:*) COMPREPLY=($(compgen -W "\${kind#words:}" -- "$cur")) ;;
    *) COMPREPLY=() ;;
  esac
}
complete -F _brain brain
`;
}

export function zshCompletion(root: Command): string {
  const all = nodes(root);
  const lists = all.map((n) => {
    const subs = n.subs.map((s) => sq(`${s.name}:${s.summary}`)).join(' ');
    const opts = n.described.map(([name, d]) => sq(`${name}:${d}`)).join(' ');
    return `    ${sq(n.key)}) subs=(${subs}); opts=(${opts}) ;;`;
  });
  return `#compdef brain
# zsh completion for brain, made by \`brain completion zsh\`.
# Load it from ~/.zshrc (after compinit) with:  source <(brain completion zsh)
# or install it as _brain in a directory on $fpath:  brain completion zsh > "\${fpath[1]}/_brain"
_brain() {
  local cur=\${words[CURRENT]} kind=none
  local -a subs opts
${walkWords(all, '2', 'zsh')}
  case "$cmdpath" in
${lists.join('\n')}
  esac
  if [[ -z $dashes && $cur == -* ]]; then
    _describe -t options 'option' opts
    return
  fi
  if [[ -z $dashes ]] && (( \${#subs} && npos == 0 )); then
    _describe -t commands 'brain command' subs
    return
  fi
  case "$cmdpath:$npos" in
${argCases(all, '    ')}
  esac
  case $kind in
    file) _files ;;
    dir) _files -/ ;;
    words:*) compadd -- \${=kind#words:} ;;
  esac
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _brain "$@"
else
  compdef _brain brain
fi
`;
}
