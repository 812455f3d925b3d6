// The `brain` command behaves like the command-line tools people know: --help on every command
// (creating nothing), unknown options and missing arguments as usage errors (exit 2), "--" before
// file names that start with "-", text for people and JSON with --json, the documented exit codes,
// shell completion, progress only on a terminal, and refusing a database that is not there.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import type { Command } from '../src/cli/command.js';
import { program } from '../src/cli/program.js';
import { brainEnv, CLI, ROOT, tempDir, testConfig } from './helpers/brain.js';
import { requireTool } from './helpers/tools.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function brain(args: string[], opts: { env: Record<string, string>; cwd?: string; input?: string }): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: opts.env, cwd: opts.cwd, input: opts.input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every command's words after `brain` ([] is brain itself), groups included, aliases left out. */
function commandPaths(cmd: Command = program, prefix: string[] = []): string[][] {
  return [prefix, ...(cmd.subcommands ?? []).filter((c) => !c.hidden).flatMap((c) => commandPaths(c, [...prefix, c.name]))];
}

function leaves(cmd: Command = program, prefix: string[] = []): { path: string[]; command: Command }[] {
  if (!cmd.subcommands) return [{ path: prefix, command: cmd }];
  return cmd.subcommands.filter((c) => !c.hidden).flatMap((c) => leaves(c, [...prefix, c.name]));
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a shell command line on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(commandLine: string, env: Record<string, string>, cwd: string): Run {
  const r = spawnSync(requireTool('script', 'bsdutils'), ['-qec', commandLine, '/dev/null'], { env, cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A memory.jsonl of @modelcontextprotocol/server-memory with `n` people. */
function serverMemoryFile(file: string, n: number, extra = '') {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ type: 'entity', name: `Person ${i}`, entityType: 'person', observations: [`works on project ${i % 7}${extra}`] }));
  lines.push(JSON.stringify({ type: 'relation', from: 'Person 0', to: 'Person 1', relationType: 'knows' }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function seed(dir: string, env: Record<string, string>) {
  const app = createApp(testConfig(dir, env));
  try {
    app.memories.remember({ project: '', key: 'editor', content: 'The user edits with vim.', type: 'user_preferences', tags: ['tools'], importance: 0.9 });
    app.memories.remember({ project: '', key: 'db', content: 'Staging runs PostgreSQL 16.', type: 'general', tags: [], importance: 0.5 });
  } finally {
    app.close();
  }
}

describe('brain --help', () => {
  it('every command prints its usage for --help, -h and brain help, exits 0 and creates nothing', { timeout: 180_000 }, () => {
    const dir = tempDir('brain-help-');
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const env = brainEnv(dir);
    const paths = commandPaths();
    expect(paths.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['', 'export', 'import', 'backup', 'restore', 'blueprint', 'blueprint save', 'maintenance on', 'completion']));
    for (const words of paths) {
      const r = brain([...words, '--help'], { env, cwd: work });
      const name = ['brain', ...words].join(' ');
      expect(r.status, name).toBe(0);
      expect(r.stdout.startsWith(`Usage: ${name}`), `${name}: ${r.stdout.slice(0, 80)}`).toBe(true);
      expect(r.stdout).toMatch(/-h, --help/);
      expect(r.stderr, name).toBe('');
    }
    // The short form and `brain help` say the same.
    const exportHelp = brain(['export', '--help'], { env, cwd: work }).stdout;
    expect(brain(['export', '-h'], { env, cwd: work }).stdout).toBe(exportHelp);
    expect(brain(['help', 'export'], { env, cwd: work }).stdout).toBe(exportHelp);
    expect(brain(['blueprint', 'save', 'x.yaml', '--help'], { env, cwd: work }).stdout).toMatch(/^Usage: brain blueprint save/);
    // No file named --help, no database, no log: --help only prints.
    expect(fs.readdirSync(work)).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['work']);
  });

  it('--version prints the version; brain --help lists every command and the exit codes', { timeout: 60_000 }, () => {
    const env = brainEnv(tempDir('brain-help-'));
    for (const flag of ['--version', '-v']) expect(brain([flag], { env }).stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const help = brain(['--help'], { env }).stdout;
    for (const { path: words } of leaves()) expect(help).toContain(`brain ${words.join(' ')}`.replace('brain stdio', 'brain [stdio]').replace('maintenance status', 'maintenance [status]'));
    expect(help).toMatch(/Exit codes:/);
  });
});

describe('usage errors', () => {
  it('an unknown option is exit 2 with the command and its usage on stderr, on every command', { timeout: 180_000 }, () => {
    const env = brainEnv(tempDir('brain-usage-'));
    for (const { path: words } of leaves()) {
      const name = ['brain', ...words].join(' ');
      const r = brain([...words, '--frobnicate'], { env, input: '' });
      expect(r.status, name).toBe(2);
      expect(r.stderr, name).toContain(`${name}: unknown option "--frobnicate"`);
      expect(r.stderr, name).toContain(`Usage: ${name}`);
      // Nothing on stdout, which in stdio mode is the JSON-RPC channel.
      expect(r.stdout, name).toBe('');
    }
    const flagValue = brain(['stats', '--json=yes'], { env });
    expect(flagValue.status).toBe(2);
    expect(flagValue.stderr).toMatch(/--json takes no value/);
  });

  it('a missing or an extra argument, or an unknown command, is exit 2 with the usage', { timeout: 120_000 }, () => {
    const env = brainEnv(tempDir('brain-usage-'));
    for (const { path: words, command } of leaves()) {
      const required = (command.args ?? []).filter((a) => !a.optional);
      if (required.length === 0) continue;
      const r = brain(words, { env });
      expect(r.status, words.join(' ')).toBe(2);
      expect(r.stderr).toContain(`missing ${required[0].name}`);
      expect(r.stderr).toContain(`Usage: brain ${words.join(' ')}`);
    }
    const extra = brain(['stats', 'now'], { env });
    expect(extra.status).toBe(2);
    expect(extra.stderr).toMatch(/brain stats: unexpected argument "now"/);
    const shell = brain(['completion', 'fish'], { env });
    expect(shell.status).toBe(2);
    expect(shell.stderr).toMatch(/"fish" is not a SHELL: use one of bash, zsh/);
    const sub = brain(['maintenance', 'of'], { env });
    expect(sub.status).toBe(2);
    expect(sub.stderr).toMatch(/unknown command "maintenance of"/);
    expect(sub.stderr).toMatch(/brain maintenance off/);
    expect(brain(['blueprint'], { env }).stderr).toMatch(/say which command: validate, save, list/);
  });

  it('a word that starts with "-" is never a file name; after "--" it is', { timeout: 120_000 }, () => {
    const dir = tempDir('brain-dash-');
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const env = brainEnv(dir);
    seed(dir, env);
    const refused = brain(['export', '-notes.jsonl'], { env, cwd: work });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/unknown option "-notes\.jsonl"; a file name that starts with "-" goes after "--"/);
    expect(fs.readdirSync(work)).toEqual([]);
    expect(brain(['import', '--', '-missing.jsonl'], { env, cwd: work }).stderr).toMatch(/-missing\.jsonl does not exist/);

    const written = brain(['export', '--', '-notes.jsonl'], { env, cwd: work });
    expect(written.status, written.stderr).toBe(0);
    expect(fs.readFileSync(path.join(work, '-notes.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    const other = tempDir('brain-dash-');
    const read = brain(['import', '--json', '--', '-notes.jsonl'], { env: brainEnv(other), cwd: work });
    expect(read.status, read.stderr).toBe(0);
    expect(JSON.parse(read.stdout)).toMatchObject({ created: 2 });
    // "-" alone is stdout for export and stdin for import.
    const piped = brain(['export', '-'], { env });
    expect(piped.stdout.trim().split('\n').map((l) => JSON.parse(l).key)).toEqual(['editor', 'db']);
    expect(JSON.parse(brain(['import', '--json', '-'], { env: brainEnv(tempDir('brain-dash-')), input: piped.stdout }).stdout)).toMatchObject({ created: 2 });
  });
});

describe('output for people and --json for scripts', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = tempDir('brain-json-');
    env = brainEnv(dir);
    seed(dir, env);
  });

  /** Runs a command with and without --json: JSON that parses, and text that is not JSON. */
  function both(args: string[], expectText: RegExp, okStatus = 0): unknown {
    const text = brain(args, { env, cwd: dir });
    expect(text.status, `${args.join(' ')}: ${text.stderr}`).toBe(okStatus);
    expect(text.stdout).toMatch(expectText);
    expect(() => JSON.parse(text.stdout), args.join(' ')).toThrow();
    const json = brain([...args, '--json'], { env, cwd: dir });
    expect(json.status, `${args.join(' ')} --json: ${json.stderr}`).toBe(okStatus);
    return JSON.parse(json.stdout);
  }

  it('every command that prints a result does both', { timeout: 300_000 }, () => {
    const covered: string[] = [];
    const check = (args: string[], expectText: RegExp, status = 0) => {
      covered.push(args.filter((a) => /^[a-z]+$/.test(a)).slice(0, 2).join(' '));
      return both(args, expectText, status) as Record<string, unknown>;
    };
    expect(check(['stats'], /memories: +2 \(hot/)).toMatchObject({ total: 2 });
    expect(check(['rebalance'], /rebalanced: .*promoted to hot/)).toHaveProperty('hot_items', 2);
    expect(check(['check'], /integrity_check: +ok[\s\S]*result: +sound/)).toMatchObject({ ok: true, integrity: 'ok' });
    expect(check(['maintain'], /^ok +purge\.memories$/m)).toMatchObject({ checkpoint: true, optimize: true });
    expect(check(['maintenance', 'on', 'moving', 'disks'], /maintenance mode is on .*\(moving disks\)/)).toMatchObject({ on: true, reason: 'moving disks' });
    expect(check(['maintenance', 'status'], /maintenance mode is on/)).toMatchObject({ on: true });
    expect(check(['maintenance', 'off'], /maintenance mode is off/)).toEqual({ on: false });
    const backup = check(['backup'], /^backup: .*brain_\d{8}_\d{6}(_1)?\.db\.gz \(.*gzipped, integrity_check ok/);
    expect(backup).toMatchObject({ integrity: 'ok' });
    expect(check(['restore', backup.file as string], /restored .* from .*\(integrity_check ok\)\nthe database it replaced is kept at/)).toMatchObject({ integrity: 'ok' });
    expect(check(['recover'], /^recovered .* into .*\.recovered-\d{8}_\d{6}(_1)?\.db \(integrity_check ok, .*\n +memories +2 rows$/m)).toMatchObject({ integrity: 'ok', tables: { memories: { copied: 2, damaged: 0 } } });
    const file = path.join(dir, 'all.jsonl');
    // The two memories, and the events the commands above recorded.
    const exported = check(['export', file], /^$/) as { file: string; records: number };
    expect(exported.file).toBe(file);
    expect(exported.records).toBeGreaterThan(2);
    expect(check(['import', file], /^imported .*all\.jsonl \(brain format\): 0 created, 0 updated, \d+ skipped/)).toMatchObject({ format: 'brain', created: 0, skipped: exported.records });
    const blueprint = path.join(ROOT, 'blueprints', 'software-team.yaml');
    expect(check(['blueprint', 'validate', blueprint], /a valid blueprint\nid: +software-team/)).toMatchObject({ valid: true, id: 'software-team' });
    expect(check(['blueprint', 'save', blueprint], /saved blueprint software-team as revision 1|blueprint software-team is unchanged/)).toMatchObject({ id: 'software-team', revision: 1 });
    expect(check(['blueprint', 'list'], /^software-team r1 +Software team/)).toEqual([expect.objectContaining({ id: 'software-team' })]);
    expect(check(['audit'], /^brain audit of the last 7 day\(s\)[\s\S]*\nno findings\n$/)).toMatchObject({ days: 7, findings: [] });
    const doctor = check(['doctor'], /^ok +node: Node/m) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    expect(doctor.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'sqlite', 'database']));

    // Every command that declares --json is covered above.
    const declared = leaves()
      .filter((l) => l.command.json)
      .map((l) => l.path.join(' '));
    expect([...new Set(covered)].sort()).toEqual(declared.sort());
  });

  it('export to stdout keeps stdout for the records: the count goes to stderr, and --json needs a FILE', { timeout: 60_000 }, () => {
    const r = brain(['export'], { env });
    const kinds = r.stdout.trim().split('\n').map((l) => JSON.parse(l).kind as string);
    expect(kinds.filter((k) => k === 'memory')).toEqual(['memory', 'memory']);
    expect(r.stderr).toBe(`brain: exported ${kinds.length} records\n`);
    const json = brain(['export', '--json'], { env });
    expect(json.status).toBe(2);
    expect(json.stderr).toMatch(/--json needs a FILE/);
  });
});

describe('exit codes', () => {
  it('are the ones brain --help and the README list, and each happens as documented', { timeout: 180_000 }, () => {
    const dir = tempDir('brain-exit-');
    const env = brainEnv(dir);
    const help = brain(['--help'], { env }).stdout;
    const table = help.slice(help.indexOf('Exit codes:')).split('\n\n')[0];
    const documented = [...table.matchAll(/^ {2}(\d+) +(.+)$/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual([0, 1, 2, 3, 69]);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const readmeCodes = [...readme.slice(readme.indexOf('### Exit codes')).split('\n## ')[0].matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
    expect(readmeCodes).toEqual(documented);

    const seen = new Map<number, string>();
    const expectCode = (code: number, args: string[], extra: Record<string, string> = {}) => {
      const r = brain(args, { env: { ...env, ...extra } });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      if (code !== 0) expect(r.stderr.trim().split('\n')[0], args.join(' ')).toMatch(/^brain[ a-z]*: /);
      seen.set(code, args.join(' '));
    };
    expectCode(3, ['stats']); // no database yet
    seed(dir, env);
    expectCode(0, ['stats']);
    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, '{"kind":"memory","key":"ok","content":"fine"}\nnot json\n');
    expectCode(1, ['import', bad]);
    expectCode(2, ['stats', '--frobnicate']);
    expectCode(2, ['stats'], { BRAIN_HOT_TIER_MAX_ITEMS: 'many' });
    expectCode(69, ['connect', '--check'], { BRAIN_SOCKET_PATH: path.join(dir, 'nobody-listens.sock') });
    // A damaged database fails its check with 1; a file that is no database at all too.
    const damaged = path.join(dir, 'damaged.db');
    fs.writeFileSync(damaged, 'not a database '.repeat(400));
    expectCode(1, ['check'], { BRAIN_DB_PATH: damaged });
    // A database from a newer brain cannot be used: 3.
    const newer = path.join(dir, 'newer.db');
    fs.copyFileSync(env.BRAIN_DB_PATH, newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${(db.pragma('user_version', { simple: true }) as number) + 100}`);
    db.close();
    expectCode(3, ['stats'], { BRAIN_DB_PATH: newer });
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(documented);
  });
});

describe('a missing database', () => {
  it('is refused by every command that reads or tends one, naming the path and BRAIN_DB_PATH, and is not created', { timeout: 180_000 }, () => {
    const dir = tempDir('brain-missing-');
    const typo = path.join(dir, 'brian.db');
    const env = brainEnv(dir, { BRAIN_DB_PATH: typo });
    for (const args of [['stats'], ['export'], ['export', path.join(dir, 'out.jsonl')], ['backup'], ['check'], ['rebalance'], ['maintain'], ['maintenance', 'status'], ['maintenance', 'on'], ['blueprint', 'list']]) {
      const r = brain(args, { env });
      expect(r.status, args.join(' ')).toBe(3);
      expect(r.stderr).toBe(`brain: there is no database at ${typo}; set BRAIN_DB_PATH to the database brain uses (its first start, brain import or brain restore creates one).\n`);
      expect(r.stdout).toBe('');
    }
    expect(fs.readdirSync(dir)).toEqual([]);
    // Commands that fill a database still create one.
    const file = path.join(dir, 'memory.jsonl');
    serverMemoryFile(file, 3);
    expect(brain(['import', file], { env }).status).toBe(0);
    expect(fs.existsSync(typo)).toBe(true);
  });
});

describe('restore', () => {
  it('takes a gzipped backup (.db.gz) with its notes archive, as the README promises', { timeout: 120_000 }, () => {
    const dir = tempDir('brain-gz-');
    const env = brainEnv(dir);
    seed(dir, env);
    fs.mkdirSync(env.BRAIN_NOTES_PATH, { recursive: true });
    fs.writeFileSync(path.join(env.BRAIN_NOTES_PATH, 'plan.md'), '# Plan\n\nShip on Friday.\n');
    // brain backup writes brain_*.db.gz; a gzip made by hand of an older brain's brain_*.db is the same thing.
    const made = JSON.parse(brain(['backup', '--json'], { env }).stdout) as { file: string; notes: string };
    expect(made.file).toMatch(/\.db\.gz$/);
    made.file = made.file.replace(/\.gz$/, '');
    // Changes after the backup, which the restore takes back.
    const app = createApp(testConfig(dir, env));
    app.memories.remember({ project: '', key: 'later', content: 'written after the backup', type: 'general', tags: [], importance: 0.5 });
    app.close();
    fs.writeFileSync(path.join(env.BRAIN_NOTES_PATH, 'plan.md'), '# Plan\n\nShip on Monday.\n');

    const r = brain(['restore', made.file + '.gz'], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^restored .* from .*\.db\.gz \(integrity_check ok\)/);
    expect(r.stdout).toMatch(/notes folder restored from .*\.notes\.tar\.gz/);
    const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
    expect(db.prepare('SELECT key FROM memories ORDER BY key').pluck().all()).toEqual(['db', 'editor']);
    db.close();
    expect(fs.readFileSync(path.join(env.BRAIN_NOTES_PATH, 'plan.md'), 'utf8')).toMatch(/Friday/);

    // A truncated archive is refused and changes nothing.
    const truncated = path.join(dir, 'brain_20250101_000000.db.gz');
    fs.writeFileSync(truncated, fs.readFileSync(made.file + '.gz').subarray(0, 200));
    const refused = brain(['restore', truncated], { env });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/could not be unpacked .*; the database was not changed/);
    expect(fs.readdirSync(path.dirname(env.BRAIN_DB_PATH)).filter((n) => n.includes('restoring'))).toEqual([]);
  });
});

describe('import', () => {
  it('always prints a summary line; an unchanged file imported again makes no new version', { timeout: 120_000 }, () => {
    const dir = tempDir('brain-import-');
    const env = brainEnv(dir);
    const file = path.join(dir, 'memory.jsonl');
    serverMemoryFile(file, 300);
    const first = brain(['import', file], { env });
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(`imported ${file} (server-memory format): 300 created, 0 updated, 0 skipped (unchanged, or older than what is stored), 0 earlier versions added\n`);
    expect(first.stderr).toBe('');
    const again = brain(['import', '--json', file], { env });
    expect(JSON.parse(again.stdout)).toMatchObject({ created: 0, updated: 0, skipped: 300, history: 0 });
    expect(JSON.parse(brain(['stats', '--json'], { env }).stdout).history).toEqual({});
  });
});

describe('progress', () => {
  it('long commands show it on a terminal (stderr) and print nothing extra when piped', { timeout: 300_000 }, () => {
    const dir = tempDir('brain-progress-');
    const env = brainEnv(dir);
    const file = path.join(dir, 'memory.jsonl');
    serverMemoryFile(file, 1000);
    const cli = `${shq(process.execPath)} ${shq(CLI)}`;
    const steps = [`${cli} import memory.jsonl`, `${cli} export out.jsonl`, `${cli} backup`, `${cli} check`, `${cli} maintain`];
    const tty = onTerminal(steps.join(' && '), env, dir);
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toContain('\r\x1b[2Kbrain import: importing 1,000 of 1,000 (100%)');
    expect(tty.stdout).toContain('\r\x1b[2Kbrain export: writing records 1,000 of 1,000 (100%)');
    expect(tty.stdout).toContain('\r\x1b[2Kbrain backup: copying the database (one snapshot)');
    expect(tty.stdout).toMatch(/\r\x1b\[2Kbrain backup: compressing \(gzip\)/);
    expect(tty.stdout).toContain('\r\x1b[2Kbrain check: integrity_check');
    expect(tty.stdout).toMatch(/\r\x1b\[2Kbrain maintain: optimize \(\d+ of \d+\)/);
    // The result is still there, after the cleared progress line.
    expect(tty.stdout).toMatch(/\r\x1b\[2Kimported memory\.jsonl \(server-memory format\): 1,000 created/);

    const backups = fs.readdirSync(env.BRAIN_BACKUP_PATH).filter((n) => n.endsWith('.db.gz'));
    const restore = onTerminal(`${cli} restore ${shq(path.join(env.BRAIN_BACKUP_PATH, backups[0]))}`, env, dir);
    expect(restore.status, restore.stdout).toBe(0);
    expect(restore.stdout).toContain('\r\x1b[2Kbrain restore: checking the backup (integrity_check)');

    // Piped: what scripts and logs see has no progress in it.
    for (const args of [['import', file], ['export', path.join(dir, 'again.jsonl')], ['backup'], ['check'], ['maintain']]) {
      const r = brain(args, { env });
      expect(r.status).toBe(0);
      expect(r.stderr + r.stdout, args[0]).not.toMatch(/\r|\x1b/);
    }
  });
});

describe('shell completion', () => {
  /** A directory with a `brain` that runs the built CLI, for the shells to find on PATH. */
  function binDir(): string {
    const bin = tempDir('brain-bin-');
    fs.writeFileSync(path.join(bin, 'brain'), `#!/bin/sh\nexec ${shq(process.execPath)} ${shq(CLI)} "$@"\n`, { mode: 0o755 });
    return bin;
  }

  it('bash: the script loads and completes commands, options, files and fixed words', { timeout: 60_000 }, () => {
    const bin = binDir();
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: bin };
    const loaded = spawnSync('bash', ['-c', 'source <(brain completion bash); complete -p brain'], { env, encoding: 'utf8' });
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe('complete -F _brain brain');

    const work = tempDir('brain-comp-');
    fs.writeFileSync(path.join(work, 'my notes.jsonl'), '');
    fs.mkdirSync(path.join(work, 'backups'));
    const script = `source <(brain completion bash)
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=(); _brain; printf '%s|' "\${COMPREPLY[@]}"; echo; }
comp brain ''
comp brain ex
comp brain export --
comp brain export ''
comp brain backup ''
comp brain blueprint ''
comp brain maintenance ''
comp brain completion ''
comp brain maintenance on ''
comp brain export x ''`;
    const r = spawnSync('bash', ['-c', script], { env, cwd: work, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [all, ex, exportOptions, exportFiles, backupDirs, blueprint, maintenance, shells, reason, second] = r.stdout.split('\n');
    expect(all.split('|')).toEqual(expect.arrayContaining(['stdio', 'serve', 'backup', 'restore', 'export', 'import', 'blueprint', 'completion', 'help']));
    expect(all).not.toContain('version');
    expect(ex).toBe('export|');
    expect(exportOptions).toBe('--format=brain|--format=server-memory|--json|--help|');
    expect(exportFiles.split('|').sort()).toEqual(['', 'backups', 'my notes.jsonl']);
    expect(backupDirs).toBe('backups|');
    expect(blueprint).toBe('validate|save|list|');
    expect(maintenance).toBe('on|off|status|');
    expect(shells).toBe('bash|zsh|');
    expect(reason).toBe('|');
    expect(second).toBe('|');
  });

  it('zsh: the script loads with compinit and offers the same commands, options and files', { timeout: 60_000 }, () => {
    requireTool('zsh', 'zsh');
    const bin = binDir();
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: bin };
    const loaded = spawnSync('zsh', ['-f', '-c', 'autoload -Uz compinit && compinit -u -D; source <(brain completion zsh); print -r -- ${_comps[brain]}'], { env, encoding: 'utf8' });
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe('_brain');
    // The completion function itself, with zsh's completion builtins replaced by ones that print what they were given.
    const script = `compdef() { :; }
_describe() { local n=\${@[-1]}; local -a a; a=("\${(@P)n}"); print -r -- "\${(j:|:)\${(@)a%%:*}}"; }
compadd() { print -r -- "\${(j:|:)@[2,-1]}"; }
_files() { print -r -- "files $*"; }
source <(brain completion zsh)
t() { words=("$@"); CURRENT=$#; _brain; }
t brain ''
t brain export --
t brain export ''
t brain backup ''
t brain blueprint ''
t brain completion ''`;
    const r = spawnSync('zsh', ['-f', '-c', script], { env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [all, exportOptions, exportFiles, backupDirs, blueprint, shells] = r.stdout.split('\n');
    expect(all.split('|')).toEqual(expect.arrayContaining(['stdio', 'backup', 'export', 'blueprint', 'completion']));
    expect(exportOptions).toBe('--format=brain|--format=server-memory|--json|--help|-h');
    expect(exportFiles).toBe('files ');
    expect(backupDirs).toBe('files -/');
    expect(blueprint).toBe('validate|save|list');
    expect(shells).toBe('bash|zsh');
  });
});
