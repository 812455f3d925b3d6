// What one backup of a 1 GB brain costs: wall time, CPU (every thread: the snapshot worker and
// zlib's pool count too), bytes written, the compressed size, the longest the event loop was held
// up meanwhile, and a restore from the result. The database is generated once (real text: man
// pages and Python docstrings, as the memory bench uses) into ~/.cache/brain-bench/backup-1gb.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { openDatabase, type Db } from '../src/core/db.js';
import { BACKUP_GZIP_LEVEL, backupDatabase, restoreDatabase } from '../src/ops/backup.js';
import { loadCorpus } from './corpus.js';
import { table, tempDir, type BenchSection } from './lib.js';

const CACHE = path.join(os.homedir(), '.cache', 'brain-bench', 'backup-1gb');
const TARGET_BYTES = 1024 ** 3;

const mb = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MB`;
const sec = (msValue: number) => `${(msValue / 1000).toFixed(1)} s`;

function sizeOf(db: Db): number {
  return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
}

/** The 1 GB database, made on the first run: memories of real text, inserted as remember stores them (FTS by trigger). */
function bigDatabase(target: number): string {
  const file = path.join(CACHE, 'brain.db');
  fs.mkdirSync(CACHE, { recursive: true });
  const db = openDatabase(file);
  try {
    if (sizeOf(db) >= target) return file;
    console.log(`generating a ${mb(target)} brain in ${file} (once; later runs reuse it)...`);
    const docs = loadCorpus(20_000);
    const insert = db.prepare(
      `INSERT OR IGNORE INTO memories (project, key, content, type, tags, importance, size_bytes, created_at, updated_at)
       VALUES (?, ?, ?, 'general', '[]', 0.5, ?, datetime('now'), datetime('now'))`,
    );
    let n = (db.prepare('SELECT count(*) FROM memories').pluck().get() as number) + 1;
    const started = performance.now();
    while (sizeOf(db) < target) {
      db.transaction(() => {
        for (let i = 0; i < 5000; i++, n++) {
          // Two documents per memory, different pairs each time: no run of text repeats within gzip's 32 KB window.
          const content = `${docs[n % docs.length].text}\n\n${docs[(n * 7919) % docs.length].text}`;
          insert.run(`project-${n % 40}`, `bench-${n}`, content, Buffer.byteLength(content));
        }
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    console.log(`generated ${n - 1} memories, ${mb(sizeOf(db))}, in ${sec(performance.now() - started)}`);
    return file;
  } finally {
    db.close();
  }
}

/** Bytes this process has written: to storage (write_bytes) and through write calls (wchar). */
function written(): { storage: number; calls: number } {
  const io = fs.readFileSync('/proc/self/io', 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
  return { storage: field('write_bytes'), calls: field('wchar') };
}

interface Cost {
  wallMs: number;
  cpuMs: number;
  storage: number;
  calls: number;
  maxLoopMs: number;
}

async function measure(work: () => Promise<void>): Promise<Cost> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const io0 = written();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  loop.enable();
  await work();
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const io1 = written();
  return { wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, storage: io1.storage - io0.storage, calls: io1.calls - io0.calls, maxLoopMs: loop.max / 1e6 };
}

export const backupBench: BenchSection = {
  name: 'backup',
  onRequest: true,
  async run(ctx) {
    const target = ctx.quick ? 128 * 1024 ** 2 : TARGET_BYTES;
    const file = bigDatabase(target);
    const db = openDatabase(file);
    const out = tempDir('brain-bench-backup-');
    try {
      const dbBytes = sizeOf(db);
      let result!: Awaited<ReturnType<typeof backupDatabase>>;
      const backup = await measure(async () => {
        result = await backupDatabase(db, out, 1);
      });
      // gzip levels 1 and 6 (zlib's default) of the same copy on their own, for the choice of level.
      const raw = path.join(out, 'copy.db');
      await pipeline(fs.createReadStream(result.file), zlib.createGunzip(), fs.createWriteStream(raw));
      const levels: string[][] = [];
      for (const level of [1, 6]) {
        let size = 0;
        const cost = await measure(async () => {
          await pipeline(fs.createReadStream(raw), zlib.createGzip({ level }), fs.createWriteStream(raw + '.gz'));
          size = fs.statSync(raw + '.gz').size;
        });
        levels.push([`gzip -${level} of the copy alone`, `${sec(cost.wallMs)}, ${sec(cost.cpuMs)} CPU, ${mb(size)} (${((100 * size) / result.bytes).toFixed(1)} %)`]);
        fs.rmSync(raw + '.gz');
      }
      fs.rmSync(raw);
      const restoredPath = path.join(out, 'restored', 'brain.db');
      const restore = await measure(async () => {
        await restoreDatabase(restoredPath, result.file);
      });

      const ph = result.phases_ms;
      table(`one backup of a ${mb(dbBytes)} brain (${os.cpus().length} cores; gzip level ${BACKUP_GZIP_LEVEL})`, ['what', 'value'], [
        ['wall time', sec(backup.wallMs)],
        ['  snapshot copy (worker thread)', sec(ph.copy)],
        ['  integrity_check of the copy', sec(ph.check)],
        ['  gzip', sec(ph.compress)],
        ['  gzip read back and compared', sec(ph.verify)],
        ['CPU time (all threads)', sec(backup.cpuMs)],
        ['bytes written (write calls)', mb(backup.calls)],
        ['bytes written (to storage)', mb(backup.storage)],
        ['compressed size', `${mb(result.compressed_bytes)} (${((100 * result.compressed_bytes) / result.bytes).toFixed(1)} % of ${mb(result.bytes)})`],
        ['longest event-loop stall meanwhile', `${backup.maxLoopMs.toFixed(0)} ms`],
      ]);
      table('for comparison', ['what', 'value'], [
        ...levels,
        ['restore from the .db.gz (gunzip, checks, swap)', `${sec(restore.wallMs)}, ${sec(restore.cpuMs)} CPU`],
        ['every 15 minutes (96 a day)', `${((100 * backup.cpuMs) / (15 * 60_000)).toFixed(1)} % of one core, ${mb(96 * backup.calls)} written a day`],
      ]);
    } finally {
      db.close();
      fs.rmSync(out, { recursive: true, force: true });
    }
  },
};
