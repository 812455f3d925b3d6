// `brain doctor`: checks what brain needs and says how to fix what is missing. Exit code 0 only
// when every required check passes, so scripts can trust it.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Config } from './core/config.js';
import { openDatabase, SCHEMA_VERSION } from './core/db.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
  /** Optional checks warn but do not fail the doctor. */
  optional?: boolean;
  /** What a failure takes away when the rest of brain works (e.g. "execute"). */
  disables?: string;
}

/** Other areas (the sandbox, ...) add their checks here. */
export type CheckProvider = (config: Config) => Promise<Check[]> | Check[];

function writableDir(name: string, dir: string, variable: string): Check {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
    return { name, ok: true, detail: dir };
  } catch (err) {
    return { name, ok: false, detail: `${dir}: ${(err as Error).message}`, fix: `make ${dir} writable for this user, or set ${variable}` };
  }
}

export function coreChecks(config: Config): Check[] {
  const checks: Check[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  checks.push({
    name: 'node',
    ok: major >= 20,
    detail: `Node ${process.versions.node}`,
    fix: 'install Node.js 20 or newer (e.g. from NodeSource or your distribution)',
  });
  try {
    const mem = new Database(':memory:');
    const version = mem.prepare('select sqlite_version()').pluck().get() as string;
    mem.exec("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='porter unicode61'); CREATE VIRTUAL TABLE g USING fts5(a, tokenize='trigram')");
    mem.close();
    checks.push({ name: 'sqlite', ok: true, detail: `SQLite ${version} with FTS5 (porter, trigram)` });
  } catch (err) {
    checks.push({
      name: 'sqlite',
      ok: false,
      detail: (err as Error).message,
      fix: 'reinstall brain so better-sqlite3 is rebuilt for this Node (npm rebuild better-sqlite3; needs python3, make, g++)',
    });
  }
  checks.push(writableDir('database directory', path.dirname(path.resolve(config.dbPath)), 'BRAIN_DB_PATH'));
  try {
    const db = openDatabase(config.dbPath, { busyTimeoutMs: config.busyTimeoutMs });
    const integrity = db.pragma('quick_check', { simple: true }) as string;
    const mode = db.pragma('journal_mode', { simple: true }) as string;
    const memories = db.prepare('SELECT count(*) FROM memories').pluck().get() as number;
    db.close();
    checks.push({
      name: 'database',
      ok: integrity === 'ok',
      detail: `${config.dbPath} (schema ${SCHEMA_VERSION}, ${mode}, ${memories} memories, quick_check ${integrity})`,
      fix: 'restore the latest backup (see README, "Backup and restore")',
    });
  } catch (err) {
    checks.push({ name: 'database', ok: false, detail: `${config.dbPath}: ${(err as Error).message}`, fix: 'check BRAIN_DB_PATH and its permissions' });
  }
  checks.push({ ...writableDir('notes directory', config.notesPath, 'BRAIN_NOTES_PATH'), optional: true });
  checks.push({ ...writableDir('log directory', config.logPath, 'BRAIN_LOG_PATH'), optional: true });
  return checks;
}

/** Every check: brain's own first, then each provider's. */
export async function doctorChecks(config: Config, providers: CheckProvider[] = []): Promise<Check[]> {
  const checks = coreChecks(config);
  for (const provider of providers) checks.push(...(await provider(config)));
  return checks;
}

/** Ready when every check that is not optional passed. */
export const isReady = (checks: readonly Check[]) => checks.every((c) => c.ok || c.optional);

export async function runDoctor(config: Config, print: (line: string) => void, providers: CheckProvider[] = []): Promise<boolean> {
  const checks = await doctorChecks(config, providers);
  for (const c of checks) {
    const mark = c.ok ? 'ok  ' : c.optional ? 'warn' : 'FAIL';
    print(`${mark}  ${c.name}: ${c.detail}`);
    if (!c.ok && c.fix) print(`      fix: ${c.fix}`);
  }
  const ok = isReady(checks);
  const failed = checks.filter((c) => !c.ok && !c.optional);
  const partial = failed.length > 0 && failed.every((c) => c.disables);
  if (ok) print('brain is ready.');
  else if (partial) {
    const lost = [...new Set(failed.map((c) => c.disables))].join(', ');
    print(`brain works without ${lost}: memory, notes, projects, events and clusters are ready; fix the FAIL lines above for ${lost}.`);
  } else print('brain is not ready: fix the FAIL lines above.');
  return ok;
}
