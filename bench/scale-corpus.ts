// Memories for the scale benchmark: as many as asked for (a million and more), generated
// deterministically from real text on the machine. Memory i joins one Debian package's name and
// description (from apt's package lists, or dpkg's status file) with two paragraphs of the man
// page / docstring corpus (corpus.ts), chosen by hashing i: about 530 characters, real vocabulary,
// and the long tail of rare words (package names) that real memories have. The same i always gives
// the same memory, so the 100k set is the first tenth of the 1M set.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadCorpus } from './corpus.js';
import { DATA_DIR } from './lib.js';

export interface Package {
  name: string;
  section: string;
  description: string;
}

export interface ScaleDoc {
  key: string;
  content: string;
  tags: string[];
}

const PACKAGES_CACHE = path.join(DATA_DIR, 'packages.jsonl');

/** Parses the stanzas of a Packages or status file. */
function parsePackages(text: string): Package[] {
  const out: Package[] = [];
  for (const stanza of text.split('\n\n')) {
    const name = /^Package: (.+)$/m.exec(stanza)?.[1];
    const description = /^Description: (.+)$/m.exec(stanza)?.[1];
    if (!name || !description) continue;
    const section = (/^Section: (.+)$/m.exec(stanza)?.[1] ?? 'misc').split('/').pop()!;
    out.push({ name, section, description });
  }
  return out;
}

/** Debian's package list: apt's lists (lz4 or plain), else the installed packages of dpkg's status file. */
export function loadPackages(): Package[] {
  if (fs.existsSync(PACKAGES_CACHE)) return fs.readFileSync(PACKAGES_CACHE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Package);
  const lists = '/var/lib/apt/lists';
  const packages: Package[] = [];
  const files = fs.existsSync(lists) ? fs.readdirSync(lists).filter((f) => /_Packages(\.lz4)?$/.test(f)).sort() : [];
  for (const file of files) {
    const full = path.join(lists, file);
    const text = file.endsWith('.lz4') ? execFileSync('lz4cat', [full], { maxBuffer: 1 << 30 }).toString() : fs.readFileSync(full, 'utf8');
    packages.push(...parsePackages(text));
  }
  if (packages.length === 0 && fs.existsSync('/var/lib/dpkg/status')) packages.push(...parsePackages(fs.readFileSync('/var/lib/dpkg/status', 'utf8')));
  if (packages.length === 0) throw new Error('no Debian package list found (/var/lib/apt/lists/*_Packages or /var/lib/dpkg/status)');
  const seen = new Set<string>();
  const unique = packages.filter((p) => !seen.has(p.name) && seen.add(p.name));
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(PACKAGES_CACHE, unique.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return unique;
}

/** A well-mixed 32-bit hash of (i, salt) (splitmix-style), so neighbouring i pick unrelated sources. */
export function mix(i: number, salt: number): number {
  let x = (Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(salt, 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

const MAX_CHARS = 700;

/** Generates memories 0..n-1 (see the file comment). */
export function scaleDocs(): (i: number) => ScaleDoc {
  const paragraphs = loadCorpus(101_000).map((d) => d.text);
  const packages = loadPackages();
  return (i) => {
    const p = packages[mix(i, 1) % packages.length];
    const a = paragraphs[mix(i, 2) % paragraphs.length];
    const b = paragraphs[mix(i, 3) % paragraphs.length];
    let content = `${p.name}: ${p.description}. ${a} ${b}`;
    if (content.length > MAX_CHARS) content = content.slice(0, content.lastIndexOf(' ', MAX_CHARS));
    return { key: `${p.name}-${i}`, content, tags: [p.section] };
  };
}

/** Three words of five letters or more from memory i's text (not its package name): what someone half-remembering it would type. */
export function plainQuery(doc: ScaleDoc, seed: number): string | undefined {
  const words = [...new Set((doc.content.slice(doc.content.indexOf(': ') + 2).match(/\b[a-z]{5,}\b/g) ?? []))];
  if (words.length < 3) return undefined;
  const picked: string[] = [];
  for (let k = 0; picked.length < 3 && k < 50; k++) {
    const w = words[mix(seed, 10 + k) % words.length];
    if (!picked.includes(w)) picked.push(w);
  }
  return picked.length === 3 ? picked.join(' ') : undefined;
}

/** The same query with every word of five letters or more misspelled: two middle letters swapped, or one dropped when they are the same. */
export function misspell(query: string): string {
  return query
    .split(' ')
    .map((w) => {
      if (w.length < 5) return w;
      const m = Math.floor(w.length / 2);
      return w[m - 1] === w[m] ? w.slice(0, m) + w.slice(m + 1) : w.slice(0, m - 1) + w[m] + w[m - 1] + w.slice(m + 1);
    })
    .join(' ');
}
