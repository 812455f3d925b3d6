// Memory id -> small integer (a document or slot number), without a Map entry per memory.
//
// Memory ids are SQLite rowids: dense from 1 upwards in practice, so most fit a plain array indexed
// by id (4 bytes each, 4 MB at a million). Ids far past the count (an import that kept large ids,
// say) go to a Map instead, so one huge id cannot make the array huge.
export class IdMap {
  /** value + 1 per id; 0 = absent. */
  private dense = new Int32Array(1024);
  private readonly sparse = new Map<number, number>();

  get(id: number): number {
    if (id >= 0 && id < this.dense.length) return this.dense[id] - 1;
    return this.sparse.get(id) ?? -1;
  }

  set(id: number, value: number, count: number): void {
    if (id >= this.dense.length && Number.isSafeInteger(id) && id >= 0 && id < 4 * count + 65_536 && id < 0x7fff_ffff) {
      const next = new Int32Array(Math.max(id + 1, Math.ceil(this.dense.length * 1.5)));
      next.set(this.dense);
      this.dense = next;
      // Ids that were sparse may now fit the array.
      for (const [k, v] of this.sparse) {
        if (k >= 0 && k < next.length) {
          next[k] = v + 1;
          this.sparse.delete(k);
        }
      }
    }
    if (id >= 0 && id < this.dense.length) this.dense[id] = value + 1;
    else this.sparse.set(id, value);
  }

  delete(id: number): void {
    if (id >= 0 && id < this.dense.length) this.dense[id] = 0;
    else this.sparse.delete(id);
  }

  get bytes(): number {
    return this.dense.byteLength + this.sparse.size * 40;
  }
}
