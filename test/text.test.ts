// src/text: the one tokenizer, query parsing, the one FTS5 quoting rule (checked against a real
// FTS5 table), synonyms as a parameter, snippets, and the scorer the combined search ranks with.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { allTermsQuery, anyTermQuery, groupsQuery, prefixQuery, quote } from '../src/text/fts.js';
import { parseQuery } from '../src/text/query.js';
import { addStats, queryStems, scoreTexts, type ScoredText, type WordStats } from '../src/text/score.js';
import { snippetOf } from '../src/text/snippet.js';
import { COMMON_SYNONYMS, NO_SYNONYMS, synonymList } from '../src/text/synonyms.js';
import { stemOf, wordsOf } from '../src/text/words.js';

describe('words', () => {
  it('cuts words as FTS5 unicode61 remove_diacritics 2 does', () => {
    expect(wordsOf("Zürich doesn't-work; naïve CAFÉ 42x")).toEqual(['zurich', 'doesn', 't', 'work', 'naive', 'cafe', '42x']);
    // Marks of other scripts stay in their word (a Devanagari vowel sign).
    expect(wordsOf('हिन्दी भाषा')).toEqual(['हिन्दी', 'भाषा']);
    expect(stemOf('deployments')).toBe('deploy');
    expect(stemOf('zurich')).toBe('zurich');
  });

  it('parses a query once: distinct words, stopwords dropped unless nothing else was asked', () => {
    const q = parseQuery('What does the user like about the Editors editors?');
    expect(q.words).toEqual(['what', 'does', 'the', 'user', 'like', 'about', 'editors']);
    expect(q.terms).toEqual(['user', 'like', 'editors']);
    expect(q.stopwordsOnly).toBe(false);
    expect(parseQuery('the who').terms).toEqual(['the', 'who']);
    expect(parseQuery('the who').stopwordsOnly).toBe(true);
    expect(parseQuery('?! ***').terms).toEqual([]);
    expect(parseQuery(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ')).terms).toHaveLength(16);
  });
});

describe('FTS5 queries', () => {
  const db = new Database(':memory:');
  db.exec(`CREATE VIRTUAL TABLE t USING fts5 (title, body, tags, tokenize = 'porter unicode61 remove_diacritics 2')`);
  const insert = db.prepare('INSERT INTO t (rowid, title, body, tags) VALUES (?, ?, ?, ?)');
  insert.run(1, 'Cluster', 'Upgrade the Kubernetes cluster "prod" AND (restart) NEAR stars*', '');
  insert.run(2, 'Lunch', 'Pizza on Fridays', '');
  const match = (q: string) => db.prepare('SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid').pluck().all(q);

  it('quotes every word, so no user text is FTS5 syntax', () => {
    expect(quote('say "hi"')).toBe('"say ""hi"""');
    for (const text of ['foo AND (', '"unbalanced', 'NEAR(a b)', 'col:umn', '^x', 'title:lunch', '🙂 ünïcödé ∑', 'prod" OR "pizza']) {
      const terms = parseQuery(text).words;
      if (terms.length) expect(() => match(allTermsQuery(terms, NO_SYNONYMS)), text).not.toThrow();
    }
    expect(match(allTermsQuery(parseQuery('"prod" AND (restart').terms, NO_SYNONYMS))).toEqual([1]);
    // "title:lunch" is two plain words here, not a column filter.
    expect(match(allTermsQuery(parseQuery('title:lunch').terms, NO_SYNONYMS))).toEqual([]);
  });

  it('takes synonyms as a parameter: one list finds the long form, none finds only the word', () => {
    expect(match(allTermsQuery(['k8s', 'upgrade'], COMMON_SYNONYMS))).toEqual([1]);
    expect(match(allTermsQuery(['k8s', 'upgrade'], NO_SYNONYMS))).toEqual([]);
    const food = synonymList([], [['pizza', 'lunch']]);
    expect(match(anyTermQuery(['lunch'], food))).toEqual([2]);
  });

  it('builds prefix and corrected-group queries with the same quoting', () => {
    expect(match(prefixQuery(['kube']))).toEqual([1]);
    expect(match(groupsQuery([['pizza', 'pizzas'], ['friday']], NO_SYNONYMS))).toEqual([2]);
  });
});

describe('snippets', () => {
  it('shows the text around the first query word, accents folded', () => {
    const text = `${'filler words here. '.repeat(30)}The office is in Zürich near the lake. ${'more filler. '.repeat(30)}`;
    const s = snippetOf(text, parseQuery('zurich').terms, 120);
    expect(s).toContain('Zürich');
    expect(s.startsWith('…')).toBe(true);
    expect(s.length).toBeLessThanOrEqual(122);
    expect(snippetOf('short', ['x'], 120)).toBe('short');
  });
});

describe('scoreTexts', () => {
  const doc = (title: string, body: string, tags = ''): ScoredText => ({ title, body, tags });
  const stats = (docs: number, df: Record<string, number>): WordStats => ({ docs, df: new Map(Object.entries(df)) });

  it('ranks with both collections’ word counts: a rare word outweighs a common one', () => {
    const q = parseQuery('staging port');
    const stems = queryStems(q, NO_SYNONYMS);
    const texts = [doc('a', 'the staging host'), doc('b', 'the port number')];
    // "staging" is rare among memories and notes together, "port" common: the text with "staging" wins.
    const both = addStats(stats(1000, { stage: 3, port: 400 }), stats(100, { stage: 1, port: 50 }));
    const [a, b] = scoreTexts(q, stems, texts, both);
    expect(a.text).toBe(1 * 0.8);
    expect(b.text).toBeLessThan(a.text);
    expect(a.match).toBe('any_word');
    // The same texts with the counts the other way round rank the other way round.
    const [a2, b2] = scoreTexts(q, stems, texts, stats(1100, { stage: 450, port: 4 }));
    expect(b2.text).toBeGreaterThan(a2.text);
  });

  it('weighs a word in the title above the same word in the body, and every word above the same text with some', () => {
    const q = parseQuery('release checklist');
    const stems = queryStems(q, NO_SYNONYMS);
    const s = stats(500, { releas: 20, checklist: 5 });
    const [title, body, some] = scoreTexts(q, stems, [doc('Release checklist', 'steps to follow'), doc('Steps', 'the release checklist to follow'), doc('Steps', 'the checklist to follow')], s);
    expect(title.text).toBe(1);
    expect(body.text).toBeLessThan(title.text);
    expect(body.match).toBe('all_words');
    expect(some.match).toBe('any_word');
    expect(some.text).toBeLessThan(body.text);
  });

  it('matches a word no item holds by its close words: misspellings, fragments, two words run together', () => {
    const texts = [doc('k', 'vim keybindings everywhere'), doc('r', 'the API is rate limited per token'), doc('c', 'a Kubernetes cluster'), doc('x', 'nothing related')];
    const s = stats(300, { keybindng: 0, kubern: 0, ratelimit: 0, keybind: 3, kubernet: 5, rate: 40, limit: 40 });
    for (const [query, index] of [['keybindngs', 0], ['kubern', 2], ['ratelimit', 1]] as const) {
      const q = parseQuery(query);
      const scored = scoreTexts(q, queryStems(q, NO_SYNONYMS), texts, s);
      expect(scored[index], query).toEqual({ text: 0.95, match: 'corrected' });
      expect(scored[3].match, query).toBe('none');
    }
    // A word that some item holds is not "corrected" to another one.
    const q = parseQuery('keybind');
    expect(scoreTexts(q, queryStems(q, NO_SYNONYMS), [doc('k', 'keybinding')], stats(10, { keybind: 2 }))[0].match).toBe('all_words');
  });

  it('counts a synonym as the word', () => {
    const q = parseQuery('k8s upgrade');
    const stems = queryStems(q, COMMON_SYNONYMS);
    expect(stems[0].map((s) => s.stem)).toEqual(['k8s', 'kubernet']);
    const [hit] = scoreTexts(q, stems, [doc('', 'Upgrade the Kubernetes cluster')], stats(50, { k8s: 0, kubernet: 2, upgrad: 3 }));
    expect(hit).toEqual({ text: 1, match: 'all_words' });
  });
});
