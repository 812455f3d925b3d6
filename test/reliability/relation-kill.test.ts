// SIGKILL at random moments while brain processes add and remove relations: every acknowledged
// relation change survives, the one in flight at the kill is there whole or not at all, each
// change is exactly one version of the memory it starts from (so undo steps back one change),
// and the database stays sound. Two processes write at once, each to its own hub memory.
// RELIABILITY_KILLS sets the number of kills (default 12 here: each costs a process start).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brainEnv, CLI, tempDir } from '../helpers/brain.js';
import { knob, report } from './figures.js';
import { callTool, handshake, startPeer } from './rpc-peer.js';

const KILLS = knob('RELIABILITY_KILLS', 12);
const LANES = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A change to a hub's relations: its key and whether it adds or removes it. */
interface Change {
  to: string;
  add: boolean;
}

describe('SIGKILL during relation writes', () => {
  it(`${KILLS} kills lose no acknowledged relation change and never leave half of one`, { timeout: Math.max(120_000, KILLS * 4_000) }, async () => {
    const dir = tempDir('brain-relkill-');
    const env = brainEnv(dir, { BRAIN_LOG_FILES: 'false', BRAIN_LOG_LEVEL: 'error', BRAIN_FIREJAIL_PATH: path.join(dir, 'no-firejail'), BRAIN_WORKER_MIN: '0', BRAIN_SANDBOX_WARM: '0' });
    // Per lane: the hub's relations as acknowledged, and the change that was in flight at a kill.
    const acknowledged = Array.from({ length: LANES }, () => new Set<string>());
    const inFlight: (Change | undefined)[] = Array.from({ length: LANES }, () => undefined);
    const targets = Array.from({ length: LANES }, () => new Map<string, boolean>());
    const refused: string[] = [];
    let kills = 0;
    let changes = 0;
    let inFlightApplied = 0;

    async function lane(l: number) {
      const hub = `hub-${l}`;
      let i = 0;
      while (kills < KILLS) {
        const peer = startPeer(env);
        let stop = false;
        let started!: () => void;
        const ready = new Promise<void>((resolve) => (started = resolve));
        const writer = (async () => {
          try {
            await handshake(peer);
            // The hub exists from the first round on; the same text again is no new version.
            const made = await callTool(peer, 'remember', { key: hub, content: `Hub ${l}: everything in lane ${l} links here.` });
            if (made.result?.isError) refused.push(JSON.stringify(made.result.content));
            // The change in flight at the last kill is there whole or not at all: see which, and go on from there.
            const flight = inFlight[l];
            if (flight) {
              const seen = await callTool(peer, 'recall', { key: hub });
              const links = ((seen.result?.structuredContent?.results as { relations?: { to?: string }[] }[] | undefined)?.[0]?.relations ?? []).map((r) => r.to);
              if (links.includes(flight.to) !== acknowledged[l].has(flight.to)) {
                inFlightApplied++;
                if (flight.add) acknowledged[l].add(flight.to);
                else acknowledged[l].delete(flight.to);
              }
              inFlight[l] = undefined;
            }
          } catch {
            return;
          } finally {
            started();
          }
          for (; !stop; i++) {
            const current = [...acknowledged[l]];
            // Adds and removals in turn: the hub stays within the 50 relations recall shows it with.
            const change: Change = i % 2 === 1 && current.length ? { to: current[(i * 7) % current.length], add: false } : { to: `t-${l}-${i}`, add: true };
            const withTarget = change.add && i % 4 === 0;
            if (withTarget) targets[l].set(change.to, false);
            inFlight[l] = change;
            let answer;
            try {
              answer = change.add
                ? await callTool(peer, 'remember', { key: hub, relations: [{ type: 'links', to: change.to }] })
                : await callTool(peer, 'forget', { key: hub, relation: { to: change.to } });
            } catch {
              return; // killed before it answered: the change may or may not be there
            }
            if (!answer.result || answer.result.isError) {
              refused.push(`${hub} ${JSON.stringify(change)}: ${JSON.stringify(answer.error ?? answer.result?.content)}`);
              continue;
            }
            if (change.add) acknowledged[l].add(change.to);
            else acknowledged[l].delete(change.to);
            inFlight[l] = undefined;
            changes++;
            // Every fourth target also gets a memory of its own, relating back: content and a relation in one write.
            if (!withTarget) continue;
            try {
              const back = await callTool(peer, 'remember', { key: change.to, content: `target ${change.to}`, relations: [{ type: 'back', to: hub }] });
              if (back.result && !back.result.isError) targets[l].set(change.to, true);
            } catch {
              return;
            }
          }
        })();
        await ready;
        await sleep(50 + Math.random() * 300);
        peer.kill('SIGKILL');
        kills++;
        stop = true;
        await peer.exited;
        await writer;
      }
    }
    await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l)));

    const check = spawnSync(process.execPath, [CLI, 'check'], { env, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);

    const db = new Database(env.BRAIN_DB_PATH, { readonly: true });
    let lost = 0;
    let halfDone = 0;
    try {
      expect(db.pragma('foreign_key_check')).toEqual([]);
      const relationsOf = db.prepare(`SELECT to_key FROM memory_relations r JOIN memories m ON m.id = r.memory_id WHERE m.project = '' AND m.key = ? AND r.type = ?`).pluck();
      for (let l = 0; l < LANES; l++) {
        const hub = `hub-${l}`;
        const actual = new Set(relationsOf.all(hub, 'links') as string[]);
        const expected = new Set(acknowledged[l]);
        const flight = inFlight[l];
        // The change in flight at the last kill is either wholly there or wholly absent.
        if (flight && actual.has(flight.to) !== expected.has(flight.to)) {
          inFlightApplied++;
          if (flight.add) expected.add(flight.to);
          else expected.delete(flight.to);
        }
        for (const key of expected) if (!actual.has(key)) lost++;
        for (const key of actual) if (!expected.has(key)) halfDone++;
        // Each relation change is one version: the versions in history and the current one step
        // one relation at a time, so remember with "restore" undoes exactly one change.
        const row = db.prepare(`SELECT id, version FROM memories WHERE project = '' AND key = ?`).get(hub) as { id: number; version: number };
        const versions = db.prepare(`SELECT version, relations FROM memory_history WHERE memory_id = ? ORDER BY version`).all(row.id) as { version: number; relations: string }[];
        expect(versions.map((v) => v.version)).toEqual(Array.from({ length: row.version - 1 }, (_, v) => v + 1));
        const sets = [...versions.map((v) => (JSON.parse(v.relations) as { to: string }[]).map((r) => r.to)), [...actual]];
        for (let v = 1; v < sets.length; v++) {
          const a = new Set(sets[v - 1]);
          const b = new Set(sets[v]);
          const diff = [...a].filter((k) => !b.has(k)).length + [...b].filter((k) => !a.has(k)).length;
          expect(diff, `${hub} version ${v} -> ${v + 1}`).toBe(1);
        }
        // A target written with content and its relation back has both.
        for (const [key, done] of targets[l]) {
          const back = relationsOf.all(key, 'back') as string[];
          if (done) expect(back, key).toEqual([hub]);
          else expect(back.length, key).toBeLessThanOrEqual(1);
        }
      }
    } finally {
      db.close();
    }
    report('SIGKILL during relation writes', {
      kills,
      'relation changes acknowledged': changes,
      'in-flight changes found applied': inFlightApplied,
      'lost changes': lost,
      'half-done changes': halfDone,
      'refused writes': refused.length,
    });
    expect(refused).toEqual([]);
    expect(lost).toBe(0);
    expect(halfDone).toBe(0);
    expect(changes).toBeGreaterThan(KILLS);
  });
});
