// The `brain` command tree: every subcommand in the order `brain --help` lists them, plus help,
// version and shell completion, which are made from the tree itself.
import { packageVersion } from '../core/version.js';
import { defineCommand, type Command } from './command.js';
import { auditCommand } from './commands/audit.js';
import { blueprintGroup } from './commands/blueprints.js';
import { rebalanceCommand, statsCommand } from './commands/memories.js';
import { exportCommand, importCommand } from './commands/transfer.js';
import { backupCommand, checkCommand, doctorCommand, maintainCommand, maintenanceGroup, recoverCommand, restoreCommand } from './commands/operations.js';
import { connectCommand, serveCommand, stdioCommand } from './commands/session.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { columns, helpText } from './help.js';
import { EXIT_CODE_HELP, print } from './output.js';
import { UsageError } from './parse.js';

const completionCommand = defineCommand({
  name: 'completion',
  summary: 'print the shell completion script for bash or zsh',
  details: [
    'bash: add  source <(brain completion bash)  to ~/.bashrc,',
    '      or save it: brain completion bash > ~/.local/share/bash-completion/completions/brain',
    'zsh:  add  source <(brain completion zsh)  to ~/.zshrc after compinit,',
    '      or save it as _brain in a directory on $fpath: brain completion zsh > "${fpath[1]}/_brain"',
  ].join('\n'),
  args: [{ name: 'SHELL', description: 'the shell to complete for', choices: ['bash', 'zsh'] }],
  run(inv) {
    print(inv.args.SHELL === 'zsh' ? zshCompletion(program) : bashCompletion(program));
  },
});

const helpCommand = defineCommand({
  name: 'help',
  summary: 'show the usage of brain, or of one command',
  args: [{ name: 'COMMAND', description: 'a command, e.g. backup or blueprint save', optional: true, rest: true }],
  run(inv) {
    const path: Command[] = [program];
    for (const word of inv.rest) {
      const sub = path.at(-1)!.subcommands?.find((c) => c.name === word);
      if (!sub) throw new UsageError(`there is no command "${inv.rest.join(' ')}"; brain --help lists them`);
      path.push(sub);
    }
    print(helpText(path));
  },
});

const versionCommand = defineCommand({
  name: 'version',
  summary: 'print the version',
  hidden: true,
  run: () => print(packageVersion()),
});

export const program: Command = defineCommand({
  name: 'brain',
  summary: `brain ${packageVersion()} — memory and a code sandbox for AI assistants (an MCP server)`,
  options: { version: { short: 'v', description: 'print the version and exit' } },
  defaultSub: 'stdio',
  subcommands: [
    stdioCommand,
    serveCommand,
    connectCommand,
    backupCommand,
    restoreCommand,
    checkCommand,
    recoverCommand,
    maintainCommand,
    maintenanceGroup,
    doctorCommand,
    auditCommand,
    statsCommand,
    rebalanceCommand,
    exportCommand,
    importCommand,
    blueprintGroup,
    completionCommand,
    helpCommand,
    versionCommand,
  ],
  epilog: [
    'Every command takes --help; the ones that print a result take --json for scripts. Progress',
    'of long commands shows on stderr when it is a terminal. A file name that starts with "-"',
    'goes after "--" (brain export -- -notes.jsonl).',
    '',
    `Exit codes:\n${columns(EXIT_CODE_HELP)}`,
    '',
    'Configuration comes from BRAIN_* environment variables (see README). Database: BRAIN_DB_PATH.',
  ].join('\n'),
});
