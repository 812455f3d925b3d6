// Markdown with YAML front matter (title, tags, created, updated), read leniently: a file edited
// by hand is indexed with whatever can be read, and each thing that could not is reported.
// Unknown keys are kept as they are when brain rewrites the file: the person owns the file.
import yaml from 'js-yaml';

export interface NoteMeta {
  title?: string;
  tags?: string[];
  created?: string;
  updated?: string;
  /** Front matter keys brain does not use, preserved on rewrite. */
  extra: Record<string, unknown>;
}

export interface ParsedNote {
  meta: NoteMeta;
  body: string;
  /** What could not be read, one sentence each (empty when all is well). */
  problems: string[];
  /** False when the front matter block exists but is not usable YAML: brain then never rewrites it. */
  frontMatterOk: boolean;
}

const OPEN = /^---[ \t]*\r?\n/;
const CLOSE = /^(?:---|\.\.\.)[ \t]*$/m;

function isoOrUndefined(v: unknown): string | undefined {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString();
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const ms = Date.parse(String(v));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

export function parseNote(text: string): ParsedNote {
  const meta: NoteMeta = { extra: {} };
  const problems: string[] = [];
  const open = OPEN.exec(text);
  if (!open) return { meta, body: text, problems, frontMatterOk: true };
  const rest = text.slice(open[0].length);
  const close = CLOSE.exec(rest);
  if (!close) {
    problems.push('front matter starts with "---" but has no closing "---" line; the whole file is indexed as text');
    return { meta, body: text, problems, frontMatterOk: false };
  }
  const block = rest.slice(0, close.index);
  let body = rest.slice(close.index + close[0].length);
  body = body.replace(/^\r?\n/, '');
  let data: unknown;
  try {
    // CORE_SCHEMA: dates stay strings, so "created: 2026-01-31" round-trips exactly.
    data = yaml.load(block, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    problems.push(`front matter is not valid YAML (${reason}); title and tags could not be read`);
    return { meta, body, problems, frontMatterOk: false };
  }
  if (data === null || data === undefined) return { meta, body, problems, frontMatterOk: true };
  if (typeof data !== 'object' || Array.isArray(data)) {
    problems.push('front matter is not a set of "key: value" lines; title and tags could not be read');
    return { meta, body, problems, frontMatterOk: false };
  }
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    switch (key) {
      case 'title':
        if (typeof value === 'string' || typeof value === 'number') meta.title = String(value).trim() || undefined;
        else problems.push('"title" in the front matter is not text');
        break;
      case 'tags':
        if (Array.isArray(value)) {
          const tags = value.filter((t) => typeof t === 'string' || typeof t === 'number').map((t) => String(t).trim().toLowerCase()).filter(Boolean);
          if (tags.length !== value.length) problems.push('some "tags" in the front matter are not text and were skipped');
          meta.tags = [...new Set(tags)];
        } else if (typeof value === 'string') {
          meta.tags = [...new Set(value.split(/[,\s]+/).map((t) => t.trim().toLowerCase()).filter(Boolean))];
        } else if (value !== null) problems.push('"tags" in the front matter is not a list');
        break;
      case 'created':
      case 'updated': {
        const t = isoOrUndefined(value);
        if (t) meta[key] = t;
        else if (value !== null) problems.push(`"${key}" in the front matter is not a date (${JSON.stringify(value)}); the file's time is used`);
        break;
      }
      default:
        meta.extra[key] = value;
    }
  }
  return { meta, body, problems, frontMatterOk: true };
}

export function serializeNote(meta: NoteMeta, body: string): string {
  const data: Record<string, unknown> = {};
  if (meta.title !== undefined) data.title = meta.title;
  data.tags = meta.tags ?? [];
  if (meta.created) data.created = meta.created;
  if (meta.updated) data.updated = meta.updated;
  Object.assign(data, meta.extra);
  const head = yaml.dump(data, { schema: yaml.CORE_SCHEMA, lineWidth: -1, flowLevel: 1, noRefs: true });
  return `---\n${head}---\n${body.endsWith('\n') || body === '' ? body : body + '\n'}`;
}

const WIKI_LINK = /\[\[([^[\]|#\n]+)(?:#[^[\]|\n]*)?(?:\|[^[\]\n]*)?\]\]/g;

/** Targets of the [[wiki links]] in a body, as written (deduplicated). */
export function wikiLinks(body: string): string[] {
  const out = new Set<string>();
  for (const m of body.matchAll(WIKI_LINK)) {
    const target = m[1].trim();
    if (target) out.add(target);
  }
  return [...out];
}

/** A title for a file without one: its first "# heading", else its file name. */
export function fallbackTitle(body: string, rel: string): string {
  const heading = /^#\s+(.+?)\s*#*\s*$/m.exec(body);
  if (heading) return heading[1].slice(0, 200);
  const base = rel.split('/').pop()!.replace(/\.md$/, '');
  return base.replace(/[-_]+/g, ' ').trim() || base;
}
