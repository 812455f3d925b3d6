// SIGKILL at random moments while brain processes start and write: every remember and note write that was
// acknowledged survives, whole, and the database stays sound. Two embedded processes share the
// file at once (as two conversations do). RELIABILITY_KILLS sets the number of kills (default 50;
// 500 for a long run).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brainEnv, CLI, tempDir } from '../helpers/brain.js';
import { knob, report } from './figures.js';
import { callTool, handshake, startPeer } from './rpc-peer.js';

const KILLS = knob('RELIABILITY_KILLS', 50);
const LANES = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SIGKILL loop', () => {
  it(`${KILLS} kills during writes lose no acknowledged memory or note`, { timeout: Math.max(300_000, KILLS * 6_000) }, async () => {
    const dir = tempDir('brain-kill-');
    // No sandbox: its start-up self-test would take most of each short-lived process's CPU.
    const env = brainEnv(dir, { BRAIN_LOG_FILES: 'false', BRAIN_LOG_LEVEL: 'error', BRAIN_FIREJAIL_PATH: path.join(dir, 'no-firejail'), BRAIN_WORKER_MIN: '0', BRAIN_SANDBOX_WARM: '0' });
    const memories = new Map<string, string>();
    const notes = new Map<string, string>();
    const refused: string[] = [];
    let kills = 0;
    let startupKills = 0;
    let sent = 0;

    async function lane(l: number) {
      for (let round = 0; kills < KILLS; round++) {
        const peer = startPeer(env);
        // One kill in four lands while the process starts (opening, checking or creating the
        // database), the others 50-350 ms after its first answered write (counted from the answer,
        // not the start, so a loaded machine still gets memories and notes in before each kill).
        const early = round % 4 === 1;
        let killAt = early ? Date.now() + Math.random() * 500 : Infinity;
        let started!: () => void;
        const ready = new Promise<void>((resolve) => (started = resolve));
        let answered!: () => void;
        const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
        let stop = false;
        const writer = (async () => {
          try {
            await handshake(peer);
          } catch {
            answered();
            return; // killed while starting
          } finally {
            started();
          }
          for (let i = 0; !stop; i++) {
            const key = `k-${l}-${round}-${i}`;
            const content = `written by lane ${l}, round ${round}, call ${i}: ${'x'.repeat(200 + ((i * 37) % 800))}`;
            const note = i % 4 === 1;
            sent++;
            let answer;
            try {
              answer = await callTool(peer, note ? 'note' : 'remember', note ? { action: 'write', title: key, content } : { key, content });
            } catch {
              answered();
              return; // killed before it answered: not acknowledged
            }
            answered();
            if (answer.result && !answer.result.isError) (note ? notes : memories).set(key, content);
            else refused.push(`${key}: ${JSON.stringify(answer.error ?? answer.result?.content)}`);
          }
        })();
        if (!early) {
          await ready;
          await Promise.race([firstAnswer, sleep(20_000)]);
          killAt = Date.now() + 50 + Math.random() * 300;
        }
        await sleep(killAt - Date.now());
        peer.kill('SIGKILL');
        kills++;
        if (early) startupKills++;
        stop = true;
        await peer.exited;
        await writer;
      }
    }
    await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l)));

    // A new process starts on what the kills left (its check at open reads every page).
    const after = startPeer(env);
    await handshake(after);
    const probe = await callTool(after, 'recall', { key: [...memories.keys()][0] });
    expect(probe.result?.isError).toBeFalsy();
    after.kill('SIGTERM');
    await after.exited;
    const check = spawnSync(process.execPath, [CLI, 'check'], { env, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);

    const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
    let lost = 0;
    try {
      const memory = db.prepare("SELECT content FROM memories WHERE project = '' AND key = ?").pluck();
      for (const [key, content] of memories) if (memory.get(key) !== content) lost++;
      const note = db.prepare("SELECT path FROM notes WHERE project = '' AND title = ?").pluck();
      for (const [title, content] of notes) {
        const rel = note.get(title) as string | undefined;
        const file = rel && path.join(env.BRAIN_NOTES_PATH, '_global', rel);
        if (!file || !fs.existsSync(file) || !fs.readFileSync(file, 'utf8').includes(content)) lost++;
      }
    } finally {
      db.close();
    }
    report('SIGKILL loop', {
      kills,
      'of them during start-up': startupKills,
      'writes sent': sent,
      'acknowledged memories': memories.size,
      'acknowledged notes': notes.size,
      'lost writes': lost,
      'refused writes': refused.length,
    });
    expect(refused).toEqual([]);
    expect(lost).toBe(0);
    expect(memories.size).toBeGreaterThan(0);
    expect(notes.size).toBeGreaterThan(0);
  });
});
