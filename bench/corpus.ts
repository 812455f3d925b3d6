// Realistic text for the memory benchmarks: paragraphs of the machine's man pages (troff markup
// stripped), topped up with Python standard-library docstrings when there are not enough.
// Built once and cached in .bench-data/corpus.jsonl.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DATA_DIR } from './lib.js';

export interface Doc {
  key: string;
  section: string;
  text: string;
}

const CACHE = path.join(DATA_DIR, 'corpus.jsonl');
const MIN_CHARS = 120;
const MAX_CHARS = 1200;

/** Plain text of a troff man page: macros dropped, font escapes removed, paragraphs kept. */
export function stripTroff(src: string): string[] {
  const paragraphs: string[] = [];
  let current: string[] = [];
  const flush = () => {
    const text = current.join(' ').replace(/\s+/g, ' ').trim();
    if (text.length >= MIN_CHARS) paragraphs.push(text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) : text);
    current = [];
  };
  for (const raw of src.split('\n')) {
    if (/^\.(PP|P|LP|SH|SS|TP|IP|HP|sp|br|RS|RE)\b/.test(raw) || raw.trim() === '') {
      flush();
      const heading = raw.match(/^\.S[HS]\s+"?([^"]*)"?/);
      if (heading) current.push(heading[1] + ':');
      continue;
    }
    if (raw.startsWith('.') || raw.startsWith("'")) {
      const inline = raw.match(/^\.(B|I|BI|IB|BR|RB|IR|RI)\s+(.*)$/);
      if (inline) current.push(inline[2].replace(/"/g, ''));
      continue;
    }
    current.push(raw);
  }
  flush();
  return paragraphs.map((p) =>
    p
      .replace(/\\f[BIRPC0-9(][A-Z]?|\\f\[[^\]]*\]/g, '')
      .replace(/\\s[-+]?\d/g, '')
      .replace(/\\[,/&|^]/g, '')
      .replace(/\\\(em|\\\(en/g, '-')
      .replace(/\\\([a-z]{2}/g, '')
      .replace(/\\-/g, '-')
      .replace(/\\e/g, '\\')
      .replace(/\\ /g, ' ')
      .replace(/\\\*\([A-Za-z]{2}|\\\*[A-Za-z]/g, '')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

function* manDocs(): Generator<Doc> {
  const root = '/usr/share/man';
  for (const section of ['man1', 'man8', 'man5', 'man7', 'man3', 'man2']) {
    const dir = path.join(root, section);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).sort()) {
      if (!file.endsWith('.gz')) continue;
      let src: string;
      try {
        const full = path.join(dir, file);
        if (fs.lstatSync(full).isSymbolicLink()) continue;
        src = zlib.gunzipSync(fs.readFileSync(full)).toString('utf8');
      } catch {
        continue;
      }
      if (src.startsWith('.so ')) continue;
      const page = file.replace(/\.gz$/, '');
      let i = 0;
      for (const text of stripTroff(src)) yield { key: `man-${page}-${i++}`, section: section.replace('man', 'man'), text };
    }
  }
}

/** Docstrings of the Python standard library, then of Debian's Python packages, read with ast (nothing is imported or run). */
function pythonDocs(limit: number): Doc[] {
  const script = `
import ast, json, os, sys
stdlib = os.path.dirname(os.__file__)
n = 0
limit = int(sys.argv[1])
def files_of(root):
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ('test', 'tests', 'site-packages', 'dist-packages', 'idlelib'))
        for f in sorted(files): yield root, dirpath, f
# Debian's own Python packages (numpy, pandas, matplotlib, ...) after the standard library: a
# machine with few man pages still reaches the 101,000 documents the 100k bench needs.
for root, dirpath, f in [*files_of(stdlib), *files_of('/usr/lib/python3/dist-packages')]:
    if not f.endswith('.py'): continue
    p = os.path.join(dirpath, f)
    try: tree = ast.parse(open(p, encoding='utf-8').read())
    except Exception: continue
    mod = os.path.relpath(p, root)[:-3].replace('/', '.')
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            doc = ast.get_docstring(node)
            if doc and len(doc) >= ${MIN_CHARS}:
                name = getattr(node, 'name', 'module')
                print(json.dumps({'key': 'py-%s.%s-%d' % (mod, name, n), 'section': 'python', 'text': ' '.join(doc.split())[:${MAX_CHARS}]}))
                n += 1
                if n >= limit: sys.exit(0)
`;
  const out = execFileSync('/usr/bin/python3', ['-c', script, String(limit)], { maxBuffer: 512 * 1024 * 1024 }).toString();
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc);
}

/** At least `n` distinct documents (fewer only if the machine has too little text). */
export function loadCorpus(n: number): Doc[] {
  if (fs.existsSync(CACHE)) {
    const docs = fs.readFileSync(CACHE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc);
    if (docs.length >= n) return docs.slice(0, n);
  }
  const docs: Doc[] = [];
  const seen = new Set<string>();
  for (const doc of manDocs()) {
    if (seen.has(doc.text)) continue;
    seen.add(doc.text);
    docs.push(doc);
    if (docs.length >= n) break;
  }
  if (docs.length < n) {
    for (const doc of pythonDocs(n - docs.length + 1000)) {
      if (seen.has(doc.text)) continue;
      seen.add(doc.text);
      docs.push(doc);
      if (docs.length >= n) break;
    }
  }
  // Interleave so that any prefix mixes sources and topics.
  const mixed = docs.map((d, i) => ({ d, r: (i * 2654435761) % 4294967296 })).sort((a, b) => a.r - b.r).map((x) => x.d);
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(CACHE, mixed.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return mixed;
}
