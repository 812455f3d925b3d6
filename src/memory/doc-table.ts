// The columns of every memory that recall's filters and ranking read, held by the recall index so
// that a search reads from SQLite only the rows it shows. One typed array per column, one slot per
// memory (about 60 bytes a memory); repeated strings (project, type, tags) are stored once and
// referred to by number. Texts are not kept: SQLite has them, and a recall reads the few it shows.
//
// (Before: an object per memory with its strings and its text up to 2,000 characters: 37 MB for
// the objects and 26 MB for the texts at 100,000 memories.)
import { fromDbTime } from '../core/db.js';
import { IdMap } from './id-map.js';
import { grown } from './term-dict.js';
import type { HitRow } from './types.js';

/** What the index reads of a memory (live-index.ts selects these columns). */
export interface IndexedRow extends HitRow {
  /** accessed_at, or updated_at if never accessed. */
  last_used: string;
}

/** FNV-1a of a key, to tell a memory from another that took its id (see search.ts readRows). */
export function keyHashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Strings numbered in the order first seen. */
class Interned {
  readonly values: string[];
  private readonly ids = new Map<string, number>();

  constructor(values: string[] = []) {
    this.values = values;
    values.forEach((v, i) => this.ids.set(v, i));
  }

  id(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  /** The number of a string, or -1 when no memory ever had it. */
  find(value: string): number {
    return this.ids.get(value) ?? -1;
  }
}

const WARM = 0;
const HOT = 1;
const FREE = 2;

/** The columns as arrays, live slots only (what the index file stores). */
export interface DocTableParts {
  ids: Float64Array;
  project: Uint32Array;
  type: Uint32Array;
  tags: Uint32Array;
  tier: Uint8Array;
  importance: Float64Array;
  access: Uint32Array;
  lastUsed: Float64Array;
  updated: Float64Array;
  version: Uint32Array;
  keyHash: Uint32Array;
  /** Pairs of (slot, expiry in ms), for the memories that expire. */
  expires: Float64Array;
  strings: { projects: string[]; types: string[]; tags: string[] };
}

export class DocTable {
  private ids: Float64Array;
  private project: Uint32Array;
  private type: Uint32Array;
  private tags: Uint32Array;
  private tier: Uint8Array;
  private importance: Float64Array;
  private access: Uint32Array;
  private lastUsed: Float64Array;
  private updated: Float64Array;
  private version: Uint32Array;
  private keyHash: Uint32Array;
  private readonly expires = new Map<number, number>();
  private slotCount: number;
  private readonly free: number[] = [];
  private readonly slotOfId = new IdMap();
  private readonly projects: Interned;
  private readonly types: Interned;
  private readonly tagSets: Interned;
  private readonly parsedTags: (readonly string[] | undefined)[] = [];
  private readonly perProject: number[] = [];
  private live = 0;
  private hotCount = 0;

  constructor(parts?: DocTableParts) {
    const n = parts?.ids.length ?? 0;
    const size = Math.max(256, n);
    this.ids = parts?.ids ?? new Float64Array(size);
    this.project = parts?.project ?? new Uint32Array(size);
    this.type = parts?.type ?? new Uint32Array(size);
    this.tags = parts?.tags ?? new Uint32Array(size);
    this.tier = parts?.tier ?? new Uint8Array(size).fill(FREE);
    this.importance = parts?.importance ?? new Float64Array(size);
    this.access = parts?.access ?? new Uint32Array(size);
    this.lastUsed = parts?.lastUsed ?? new Float64Array(size);
    this.updated = parts?.updated ?? new Float64Array(size);
    this.version = parts?.version ?? new Uint32Array(size);
    this.keyHash = parts?.keyHash ?? new Uint32Array(size);
    this.projects = new Interned(parts?.strings.projects);
    this.types = new Interned(parts?.strings.types);
    this.tagSets = new Interned(parts?.strings.tags);
    this.slotCount = n;
    if (parts) for (let i = 0; i + 1 < parts.expires.length; i += 2) this.expires.set(parts.expires[i], parts.expires[i + 1]);
    for (let slot = 0; slot < n; slot++) {
      if (this.tier[slot] === FREE) {
        this.free.push(slot);
        continue;
      }
      this.slotOfId.set(this.ids[slot], slot, n);
      this.count(slot, 1);
    }
  }

  /** Memories held. */
  get total(): number {
    return this.live;
  }

  /** Memories in the hot tier. */
  get hot(): number {
    return this.hotCount;
  }

  /** Memories in a project ('' = global). */
  inProject(project: string): number {
    const id = this.projects.find(project);
    return id < 0 ? 0 : (this.perProject[id] ?? 0);
  }

  /** Slots in use or free: a loop over 0..capacity with isLive() visits every memory. */
  get capacity(): number {
    return this.slotCount;
  }

  isLive(slot: number): boolean {
    return this.tier[slot] !== FREE;
  }

  /** The slot of a memory, or -1. */
  slotOf(id: number): number {
    return this.slotOfId.get(id);
  }

  idAt(slot: number): number {
    return this.ids[slot];
  }
  projectAt(slot: number): string {
    return this.projects.values[this.project[slot]];
  }
  projectIdAt(slot: number): number {
    return this.project[slot];
  }
  typeIdAt(slot: number): number {
    return this.type[slot];
  }
  tagsIdAt(slot: number): number {
    return this.tags[slot];
  }
  importanceAt(slot: number): number {
    return this.importance[slot];
  }
  isHot(slot: number): boolean {
    return this.tier[slot] === HOT;
  }
  accessesAt(slot: number): number {
    return this.access[slot];
  }
  lastUsedAt(slot: number): number {
    return this.lastUsed[slot];
  }
  updatedAt(slot: number): number {
    return this.updated[slot];
  }
  versionAt(slot: number): number {
    return this.version[slot];
  }
  keyHashAt(slot: number): number {
    return this.keyHash[slot];
  }
  /** When it expires (ms), or undefined. */
  expiresAt(slot: number): number | undefined {
    return this.expires.get(slot);
  }

  /** Numbers of strings as filters compare them (-1: no memory has it, so nothing matches). */
  projectId(project: string): number {
    return this.projects.find(project);
  }
  typeId(type: string): number {
    return this.types.find(type);
  }
  /** The tags of a tag set (its JSON parsed once). */
  tagsOf(tagsId: number): readonly string[] {
    let parsed = this.parsedTags[tagsId];
    if (!parsed) this.parsedTags[tagsId] = parsed = JSON.parse(this.tagSets.values[tagsId]) as string[];
    return parsed;
  }

  /** Adds a memory or updates what is held for it. */
  set(row: IndexedRow): void {
    const project = this.projects.id(row.project);
    const keyHash = keyHashOf(row.key);
    let access = row.access_count;
    let lastUsed = fromDbTime(row.last_used);
    let slot = this.slotOf(row.id);
    if (slot >= 0) {
      // This process's own uses reach the file up to 10 s later (service.ts): keep them meanwhile.
      if (this.project[slot] === project && this.keyHash[slot] === keyHash) {
        access = Math.max(access, this.access[slot]);
        lastUsed = Math.max(lastUsed, this.lastUsed[slot]);
      }
      this.count(slot, -1);
    } else {
      slot = this.allocate();
      this.slotOfId.set(row.id, slot, this.slotCount);
    }
    this.ids[slot] = row.id;
    this.project[slot] = project;
    this.type[slot] = this.types.id(row.type);
    this.tags[slot] = this.tagSets.id(row.tags);
    this.tier[slot] = row.storage_tier === 'hot' ? HOT : WARM;
    this.importance[slot] = row.importance;
    this.access[slot] = access;
    this.lastUsed[slot] = lastUsed;
    this.updated[slot] = fromDbTime(row.updated_at);
    this.version[slot] = row.version;
    this.keyHash[slot] = keyHash;
    if (row.expires_at === null) this.expires.delete(slot);
    else this.expires.set(slot, fromDbTime(row.expires_at));
    this.count(slot, 1);
  }

  delete(id: number): void {
    const slot = this.slotOf(id);
    if (slot < 0) return;
    this.count(slot, -1);
    this.slotOfId.delete(id);
    this.tier[slot] = FREE;
    this.expires.delete(slot);
    this.free.push(slot);
  }

  /** This process used a memory (its access statistics reach the file later). */
  accessed(id: number, nowMs: number): void {
    const slot = this.slotOf(id);
    if (slot < 0) return;
    this.access[slot]++;
    this.lastUsed[slot] = nowMs;
  }

  /** Access statistics as the file has them now (other processes' uses are not in the change log). */
  refreshUse(id: number, accessCount: number, lastUsed: string): void {
    const slot = this.slotOf(id);
    if (slot < 0) return;
    this.access[slot] = Math.max(this.access[slot], accessCount);
    this.lastUsed[slot] = Math.max(this.lastUsed[slot], fromDbTime(lastUsed));
  }

  /** The live slots as arrays (copies: the table goes on changing). */
  parts(): DocTableParts {
    const n = this.live;
    const out: DocTableParts = {
      ids: new Float64Array(n),
      project: new Uint32Array(n),
      type: new Uint32Array(n),
      tags: new Uint32Array(n),
      tier: new Uint8Array(n),
      importance: new Float64Array(n),
      access: new Uint32Array(n),
      lastUsed: new Float64Array(n),
      updated: new Float64Array(n),
      version: new Uint32Array(n),
      keyHash: new Uint32Array(n),
      expires: new Float64Array(this.expires.size * 2),
      strings: { projects: [...this.projects.values], types: [...this.types.values], tags: [...this.tagSets.values] },
    };
    let i = 0;
    let e = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.tier[slot] === FREE) continue;
      out.ids[i] = this.ids[slot];
      out.project[i] = this.project[slot];
      out.type[i] = this.type[slot];
      out.tags[i] = this.tags[slot];
      out.tier[i] = this.tier[slot];
      out.importance[i] = this.importance[slot];
      out.access[i] = this.access[slot];
      out.lastUsed[i] = this.lastUsed[slot];
      out.updated[i] = this.updated[slot];
      out.version[i] = this.version[slot];
      out.keyHash[i] = this.keyHash[slot];
      const expiry = this.expires.get(slot);
      if (expiry !== undefined) {
        out.expires[e++] = i;
        out.expires[e++] = expiry;
      }
      i++;
    }
    return out;
  }

  /** Bytes held, for statistics. */
  get bytes(): number {
    const perSlot = 8 + 4 + 4 + 4 + 1 + 8 + 4 + 8 + 8 + 4 + 4;
    return this.ids.length * perSlot + this.slotOfId.bytes + this.expires.size * 40;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const slot = this.slotCount++;
    if (slot >= this.ids.length) {
      const n = slot + 1;
      this.ids = grown(this.ids, n);
      this.project = grown(this.project, n);
      this.type = grown(this.type, n);
      this.tags = grown(this.tags, n);
      const tier = grown(this.tier, n);
      tier.fill(FREE, this.tier.length);
      this.tier = tier;
      this.importance = grown(this.importance, n);
      this.access = grown(this.access, n);
      this.lastUsed = grown(this.lastUsed, n);
      this.updated = grown(this.updated, n);
      this.version = grown(this.version, n);
      this.keyHash = grown(this.keyHash, n);
    }
    return slot;
  }

  private count(slot: number, delta: number): void {
    this.live += delta;
    if (this.tier[slot] === HOT) this.hotCount += delta;
    const p = this.project[slot];
    this.perProject[p] = (this.perProject[p] ?? 0) + delta;
  }
}
