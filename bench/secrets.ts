// What the credential check (src/text/secrets.ts) costs per call, in process: on the memory
// corpus's paragraphs as remember gets them, on a typical 500-character memory, and on a 200 KB
// note. Each figure is the best of several passes, so a busy machine inflates it less.
import { findSecret } from '../src/text/secrets.js';
import type { Doc } from './corpus.js';
import { table } from './lib.js';

/** Microseconds per call of fn over inputs: the fastest of `passes` passes. */
function microsPerCall(inputs: string[], passes: number): number {
  let best = Infinity;
  for (let p = 0; p < passes; p++) {
    const started = process.hrtime.bigint();
    for (const text of inputs) findSecret(text);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / inputs.length / 1000);
  }
  return best;
}

const PROSE =
  'The user prefers short answers, reviews the deploy checklist before each Friday release, and wants ' +
  'database migrations announced in the team channel a day ahead. Staging mirrors production except for ' +
  'the payment provider, which runs in test mode there. The on-call rotation changes on Mondays at 09:00; ' +
  'escalations go to the platform lead, then to the CTO. Keep commit messages in the imperative mood. ';

export function secretCheckTable(corpus: Doc[]): void {
  const paragraphs = corpus.slice(0, 20_000).map((d) => d.text);
  const refused = paragraphs.filter((t) => findSecret(t) !== undefined).length;
  const memory = PROSE.repeat(2).slice(0, 500);
  let note = '';
  for (let i = 0; note.length < 200_000; i++) note += corpus[i % corpus.length].text + '\n\n';
  note = note.slice(0, 200_000);
  const avg = Math.round(paragraphs.reduce((n, t) => n + t.length, 0) / paragraphs.length);
  table(
    'Credential check (findSecret) per call, in process, µs',
    ['text', 'µs/call', 'n'],
    [
      [`corpus paragraphs (avg ${avg} chars; ${refused} refused)`, microsPerCall(paragraphs, 5).toFixed(2), paragraphs.length],
      ['a 500-character memory (prose)', microsPerCall(Array(20_000).fill(memory), 5).toFixed(2), 20_000],
      ['a 200 KB note (corpus paragraphs)', microsPerCall(Array(20).fill(note), 5).toFixed(0), 20],
    ],
  );
}
