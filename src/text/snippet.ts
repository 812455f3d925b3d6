// What a search result shows of a long text: a window around the first query word it contains.
import { foldText } from './words.js';

/** A window of at most `maxChars` of the text around the first query word in it (or its start). */
export function snippetOf(text: string, terms: string[], maxChars: number): string {
  if (text.length <= maxChars) return text;
  // Folded as the words were (accents off), so "zurich" is found in "Zürich"; folding keeps
  // nearly every character's position, and a window of hundreds of characters absorbs the rest.
  const folded = foldText(text);
  let at = -1;
  for (const term of terms) {
    // Match the start of the stem, so "deploy" also finds "deployments".
    const i = folded.indexOf(term.slice(0, Math.max(3, term.length - 2)));
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  at = Math.min(at, text.length - 1);
  const start = at <= maxChars / 3 ? 0 : text.lastIndexOf(' ', at - Math.floor(maxChars / 3)) + 1;
  const end = Math.min(text.length, start + maxChars);
  return (start > 0 ? '…' : '') + text.slice(start, end).trim() + (end < text.length ? '…' : '');
}
