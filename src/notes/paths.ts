// Where a note lives on disk, and the checks that keep every note inside BRAIN_NOTES_PATH.
// A note is addressed by (project, path): path is relative to the project's folder, '/'-separated,
// and always ends in ".md". Paths come from the assistant and from the file system, so both are
// checked against the same rules before anything is opened.
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { PROJECT_NAME } from '../core/scope.js';

/** Folder of global notes: project names start with a letter or digit, so it cannot clash. */
export const GLOBAL_DIR = '_global';
export const MAX_SEGMENT_BYTES = 120;
export const MAX_PATH_BYTES = 400;
export const MAX_DEPTH = 6;

// Names Windows reserves in every folder: a notes folder synced to Windows must not contain them.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f<>:"\\|?*]/;

export function projectDir(project: string): string {
  return project === '' ? GLOBAL_DIR : project;
}

/** Folder name -> project, or undefined for folders that are not brain's (".git", "drafts"...). */
export function dirProject(name: string): string | undefined {
  if (name === GLOBAL_DIR) return '';
  return PROJECT_NAME.test(name) ? name : undefined;
}

/** Why a path segment is not acceptable, or undefined when it is. */
export function segmentProblem(seg: string): string | undefined {
  if (seg === '' ) return 'has an empty folder name ("//" or a trailing "/")';
  if (seg === '.' || seg === '..') return `contains "${seg}", which would leave the notes folder`;
  if (seg.startsWith('.')) return `has "${seg}", a hidden name (names cannot start with ".")`;
  if (FORBIDDEN_CHARS.test(seg)) return `has "${seg.replace(/[\u0000-\u001f]/g, '?')}", which contains a control character or one of < > : " \\ | ? *`;
  if (RESERVED.test(seg)) return `has "${seg}", a reserved device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)`;
  if (/[ .]$/.test(seg)) return `has "${seg}", which ends in a space or "."`;
  if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) return `has a name of ${Buffer.byteLength(seg)} bytes; the limit is ${MAX_SEGMENT_BYTES}`;
  return undefined;
}

/**
 * A note path from the assistant -> the normalised relative path ("design/api.md").
 * Throws a UserError saying what to change for anything that could leave the project folder.
 */
export function checkNotePath(input: string): string {
  const p = input.normalize('NFC');
  if (p.includes('\u0000')) throw new UserError('"path" contains a NUL character; use plain names like "design/api".');
  if (path.isAbsolute(p) || /^[a-zA-Z]:/.test(p) || p.startsWith('\\') || p.startsWith('~')) {
    throw new UserError(`"path" must be relative to the project's notes folder (e.g. "design/api"), not "${p}".`);
  }
  const rel = p.endsWith('.md') ? p : p + '.md';
  const segments = rel.split('/');
  if (segments.length > MAX_DEPTH) throw new UserError(`"path" is ${segments.length} folders deep; the limit is ${MAX_DEPTH}.`);
  for (const seg of segments) {
    const problem = segmentProblem(seg);
    if (problem) throw new UserError(`"path" ${problem}. Use names made of letters, digits, spaces, "-" and "_", separated by "/".`);
  }
  if (segments[segments.length - 1] === '.md') throw new UserError('"path" needs a file name before ".md".');
  if (Buffer.byteLength(rel) > MAX_PATH_BYTES) throw new UserError(`"path" is ${Buffer.byteLength(rel)} bytes; the limit is ${MAX_PATH_BYTES}.`);
  return rel;
}

/** A relative path found on disk, or undefined when brain should not index it. */
export function acceptDiskPath(rel: string): string | undefined {
  if (!rel.endsWith('.md')) return undefined;
  try {
    return checkNotePath(rel);
  } catch {
    return undefined;
  }
}

/** The absolute file of a note; `rel` must have passed checkNotePath. */
export function noteFile(root: string, project: string, rel: string): string {
  const dir = path.resolve(root, projectDir(project));
  const file = path.resolve(dir, ...rel.split('/'));
  // Belt and braces: checkNotePath already rules out "..", absolute paths and NUL.
  if (!file.startsWith(dir + path.sep)) throw new UserError(`"${rel}" would leave the notes folder.`);
  return file;
}

/** A title -> a file name: lower case words joined by "-", safe on every file system. */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  let cut = slug;
  while (Buffer.byteLength(cut) > 80) cut = cut.slice(0, -1);
  cut = cut.replace(/-+$/, '');
  if (!cut) return 'note';
  return RESERVED.test(cut) ? `${cut}-note` : cut;
}

// Characters Windows or macOS refuse in a file name, and those that break an Obsidian [[link]]
// (# ^ [ ] |): each run of them becomes one space.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f<>:"/\\|?*#^[\]]+/g;

/**
 * A title -> the human file name of a new note ("Roadmap 2027"), as Obsidian names files: the
 * title with unsafe characters replaced, no leading or trailing dots or spaces, at most 100 bytes.
 */
export function fileNameFor(title: string): string {
  let chars = Array.from(title.normalize('NFC').replace(UNSAFE_IN_NAME, ' ').replace(/\s+/g, ' ').replace(/^[\s.]+|[\s.]+$/g, ''));
  while (Buffer.byteLength(chars.join('')) > 100) chars = chars.slice(0, -1);
  const name = chars.join('').replace(/[\s.]+$/, '');
  if (!name) return 'Untitled';
  return RESERVED.test(name) ? `${name} note` : name;
}

/**
 * What a [[wiki link]] or a note is matched by: case, spaces and punctuation ignored, ".md"
 * dropped, folders kept. "[[API Design]]", "[[api-design]]" and "[[api-design.md]]" are one target.
 */
export function linkKey(text: string): string {
  return text
    .replace(/\.md$/i, '')
    .split('/')
    .map((s) => slugify(s))
    .join('/');
}

/** The keys a note answers to: its path, its file name, its title and its aliases. */
export function noteKeys(rel: string, title: string, aliases: string[] = []): string[] {
  const base = rel.split('/').pop()!;
  return [...new Set([linkKey(rel), linkKey(base), linkKey(title), ...aliases.map(linkKey)].filter(Boolean))];
}
