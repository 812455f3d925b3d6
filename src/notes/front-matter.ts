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
          // Obsidian accepts "#tag" in the front matter too; the tag is the same.
          const tags = value.filter((t) => typeof t === 'string' || typeof t === 'number').map((t) => String(t).trim().replace(/^#/, '').toLowerCase()).filter(Boolean);
          if (tags.length !== value.length) problems.push('some "tags" in the front matter are not text and were skipped');
          meta.tags = [...new Set(tags)];
        } else if (typeof value === 'string') {
          meta.tags = [...new Set(value.split(/[,\s]+/).map((t) => t.trim().replace(/^#/, '').toLowerCase()).filter(Boolean))];
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

// [[Note]], [[Note|shown text]], [[Note#Heading]], [[Note#^block]], ![[embedded note]]; in a
// table the "|" is written "\|", which leaves a "\" after the target.
const WIKI_LINK = /\[\[([^[\]|#\n]+)(?:#[^[\]|\n]*)?(?:\|[^[\]\n]*)?\]\]/g;

/** Targets of the [[wiki links]] in a body, as written (deduplicated). */
export function wikiLinks(body: string): string[] {
  const out = new Set<string>();
  for (const m of withoutCode(body).matchAll(WIKI_LINK)) {
    const target = m[1].replace(/\\$/, '').trim();
    if (target) out.add(target);
  }
  return [...out];
}

/** The body without fenced code blocks and `inline code`, where "#" and "[[" are not markup. */
function withoutCode(body: string): string {
  return body.replace(/^(```|~~~)[^\n]*\n[\s\S]*?(?:^\1[^\n]*$|(?![\s\S]))/gm, '').replace(/`[^`\n]*`/g, '');
}

// Obsidian's inline tag: "#" after a space or at a line start, then letters, digits, "_", "-" and
// "/" for nesting, with at least one character that is not a digit ("#2027" is no tag).
const INLINE_TAG = /(?<=^|[\s(,;])#([\p{L}\p{N}_\-/]*[\p{L}_\-/][\p{L}\p{N}_\-/]*)/gmu;

/**
 * The #tags written in a body, lower case; a nested "#area/sub" also counts as "#area", as in
 * Obsidian, where searching a tag finds its nested tags.
 */
export function inlineTags(body: string): string[] {
  const out = new Set<string>();
  for (const m of withoutCode(body).matchAll(INLINE_TAG)) {
    const parts = m[1].toLowerCase().split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].filter((t) => t.length <= 50);
}

/** The "aliases" (or "alias") of the front matter: a list, or one name, or names split by commas. */
export function aliasesOf(meta: NoteMeta): string[] {
  const raw = meta.extra.aliases ?? meta.extra.alias;
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
  return [...new Set(list.filter((a) => typeof a === 'string' || typeof a === 'number').map((a) => String(a).trim()).filter(Boolean))];
}

/**
 * A note's title: its front matter "title" when it has one (brain writes one in every file it
 * creates), else its file name without ".md", as Obsidian shows it. The first heading is not the
 * title: "Roadmap 2027.md" starting with "# Roadmap" is "Roadmap 2027", which is what [[links]] name.
 */
export function titleOf(meta: NoteMeta, rel: string): string {
  return meta.title ?? rel.split('/').pop()!.replace(/\.md$/, '');
}
