// The word list behind typo and fragment tolerance. Every distinct word stored in a memory is
// kept once in memory_terms (with a trigram index); a query word that matches nothing is
// replaced by the stored words closest to it: ones that contain it (a fragment) or are a few
// edits away (a misspelling).
import { stmt, withoutWaiting, type Db } from '../core/db.js';
import { runLater } from '../core/later.js';
import { trigramQuery } from '../text/fts.js';
import { allowedEdits, editDistance, trigramsOf } from '../text/fuzzy.js';
import { wordsOf } from '../text/words.js';
import type { WordList } from './word-list.js';

/** Words kept: shorter ones are not corrected, longer ones are not words (hashes, base64). */
const MIN_CHARS = 3;
const MAX_CHARS = 40;
/** Words this process already knows are stored (or queued), to skip them on every remember. */
const knownWords = new WeakMap<Db, Set<string>>();
const KNOWN_CAP = 500_000;

/**
 * New texts wait here and their words are written together shortly after, not inside the remember
 * that brought them: each write of the word list also updates its trigram index, which would add
 * several pages to every remember with a new word, and even cutting a text into words is work the
 * caller need not wait for. A process that stops without close() loses at most the last FLUSH_MS
 * of new words (they only help typo and fragment search, and come back with the next memory that
 * uses them).
 */
interface Queue {
  /** Texts not yet cut into words. */
  texts: string[];
  textChars: number;
  /** New words not yet written. */
  words: Set<string>;
  /** Cancels the scheduled flush; set while one is scheduled. */
  cancel?: () => void;
}
const queued = new WeakMap<Db, Queue>();
const FLUSH_MS = 100;
/** Texts are cut into words at once past this much waiting text (a large import, say). */
const MAX_WAITING_CHARS = 1_000_000;

/** Records the words of a text (as words.ts cuts them) for typo tolerance, shortly after. */
export function indexTerms(db: Db, text: string): void {
  let queue = queued.get(db);
  if (!queue) queued.set(db, (queue = { texts: [], textChars: 0, words: new Set() }));
  queue.texts.push(text);
  queue.textChars += text.length;
  if (queue.textChars > MAX_WAITING_CHARS) cutWords(db, queue);
  scheduleFlush(db, queue, FLUSH_MS);
}

/** Moves the waiting texts' words that this process has not seen yet into the queue of new words. */
function cutWords(db: Db, queue: Queue): void {
  let known = knownWords.get(db);
  if (!known || known.size > KNOWN_CAP) knownWords.set(db, (known = new Set()));
  for (const text of queue.texts) {
    for (const word of wordsOf(text)) {
      if (word.length < MIN_CHARS || word.length > MAX_CHARS || known.has(word)) continue;
      known.add(word);
      queue.words.add(word);
    }
  }
  queue.texts = [];
  queue.textChars = 0;
}

function scheduleFlush(db: Db, queue: Queue, delayMs: number): void {
  if ((queue.words.size === 0 && queue.texts.length === 0) || queue.cancel) return;
  const run = () => {
    queue.cancel = undefined;
    if (!db.open) return queue.words.clear();
    try {
      // A big backlog (a large import) goes in slices, one per turn of the event loop, so other
      // calls wait for one slice at most; and never for another process's write lock.
      withoutWaiting(db, () => flushTerms(db, SLICE_MS));
      scheduleFlush(db, queue, 0);
    } catch {
      // Busy: the words stay queued and are tried again a little later (close() flushes too).
      scheduleFlush(db, queue, RETRY_MS);
    }
  };
  queue.cancel = runLater(delayMs, run);
}
/** Time per slice of writing words (2000 words at once blocked other calls for up to 30 ms). */
const SLICE_MS = 2;
const RETRY_MS = 1000;

/** Words waiting to be written (for statistics). */
export function pendingTerms(db: Db): number {
  const queue = queued.get(db);
  if (!queue) return 0;
  if (queue.texts.length > 0) cutWords(db, queue);
  return queue.words.size;
}

/**
 * Writes queued words now: all of them (before a typo lookup, and at close), or as many as fit
 * in `budgetMs`.
 */
export function flushTerms(db: Db, budgetMs = Infinity): void {
  const queue = queued.get(db);
  // Inside someone else's transaction a rollback would lose words already taken off the queue.
  if (!queue || db.inTransaction) return;
  if (queue.texts.length > 0) cutWords(db, queue);
  if (queue.words.size === 0) return;
  if (budgetMs === Infinity) {
    queue.cancel?.();
    queue.cancel = undefined;
  }
  if (!db.open) return queue.words.clear();
  const insert = stmt(db, 'INSERT OR IGNORE INTO memory_terms (term) VALUES (?)');
  const started = performance.now();
  const written: string[] = [];
  try {
    db.transaction(() => {
      for (const word of queue.words) {
        insert.run(word);
        written.push(word);
        if (written.length % 16 === 0 && performance.now() - started > budgetMs) break;
      }
    }).immediate();
  } catch (err) {
    // The words stay queued; a flush that was waiting (cancelled above) is scheduled again.
    scheduleFlush(db, queue, RETRY_MS);
    throw err;
  }
  // Only once committed: a failed write leaves the words queued.
  for (const word of written) queue.words.delete(word);
}

/**
 * Rarest trigrams of a word probe the index; edit distance then decides. Six, not fewer: two
 * swapped letters make two or three trigrams the intended word lacks ("indnetation": dne, net,
 * eta), and those are often the rarest; with four probes the intended word shared one of them
 * and fell past the probe's row limit.
 */
const PROBE_GRAMS = 6;
const PROBE_ROWS = 300;
const MAX_EXPANSIONS = 6;

/**
 * Adds stored words the list does not hold yet (memory_terms rows past its last id), at most
 * `maxRows` of them; returns how many were read.
 */
export function refreshWordList(db: Db, list: WordList, maxRows = Infinity): number {
  const read = stmt(db, 'SELECT id, term FROM memory_terms WHERE id > ? ORDER BY id LIMIT ?').raw();
  let total = 0;
  while (total < maxRows) {
    const rows = read.all(list.lastTermId, Math.min(REFRESH_BATCH, maxRows - total)) as [number, string][];
    for (const [id, term] of rows) list.add(term, id);
    total += rows.length;
    if (rows.length < REFRESH_BATCH) break;
  }
  return total;
}
const REFRESH_BATCH = 1000;

/**
 * Stored words (and this process's words still waiting to be written) that a query word probably
 * meant, closest first (empty if none is close). With `list` (the recall index's copy of the word
 * list, brought up to date first), words are looked up in memory; without, in SQLite. Writes
 * nothing: a search never waits for another process's write lock (the waiting words are scanned
 * instead: a few ms even for a large import's backlog, which the background flush clears within
 * seconds).
 */
export function closeTerms(db: Db, word: string, list?: WordList): string[] {
  if (word.length < 3) return [];
  const queue = queued.get(db);
  if (queue?.texts.length) cutWords(db, queue);
  const out = new Map<string, number>();
  const max = allowedEdits(word.length);
  for (const term of queue?.words ?? []) {
    if (term === word) continue;
    if (term.includes(word)) out.set(term, 0.5);
    else {
      const d = editDistance(word, term, max);
      if (d <= max) out.set(term, d);
    }
  }
  if (list) {
    refreshWordList(db, list);
    for (const term of list.containing(word, MAX_EXPANSIONS)) if (term !== word) out.set(term, 0.5);
    for (const [term, d] of list.misspelt(word)) if ((out.get(term) ?? Infinity) > d) out.set(term, d);
    return closest(out);
  }
  // A fragment: stored words containing it, shortest first ("keybind" -> "keybindings").
  const containing = stmt(
    db,
    `SELECT t.term FROM memory_terms_trgm f JOIN memory_terms t ON t.id = f.rowid
     WHERE memory_terms_trgm MATCH ? ORDER BY length(t.term) LIMIT ?`,
  ).pluck().all(trigramQuery([word]), MAX_EXPANSIONS) as string[];
  for (const term of containing) if (term !== word) out.set(term, 0.5);
  // A misspelling: words sharing its rarest trigrams, within a few edits.
  const grams = trigramsOf([word])
    .map((g) => ({ g, n: (stmt(db, 'SELECT doc FROM memory_terms_trgm_vocab WHERE term = ?').pluck().get(g) as number | undefined) ?? 0 }))
    .filter((x) => x.n > 0)
    .sort((a, b) => a.n - b.n)
    .slice(0, PROBE_GRAMS)
    .map((x) => x.g);
  if (grams.length > 0) {
    const candidates = stmt(
      db,
      `SELECT t.term FROM (SELECT rowid AS id FROM memory_terms_trgm WHERE memory_terms_trgm MATCH ? ORDER BY rank LIMIT ?) f
       JOIN memory_terms t ON t.id = f.id`,
    ).pluck().all(trigramQuery(grams), PROBE_ROWS) as string[];
    for (const term of candidates) {
      if (term === word) continue;
      const d = editDistance(word, term, max);
      if (d <= max && (out.get(term) ?? Infinity) > d) out.set(term, d);
    }
  }
  return closest(out);
}

/** The closest words first (then the shortest), at most MAX_EXPANSIONS. */
function closest(found: Map<string, number>): string[] {
  return [...found.entries()].sort((a, b) => a[1] - b[1] || a[0].length - b[0].length).slice(0, MAX_EXPANSIONS).map(([t]) => t);
}
