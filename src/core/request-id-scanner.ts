// Finds the top-level "id" of a JSON object streaming past without keeping it: an over-long message
// is never held in memory, yet its sender should get an error it can match to its request. The id
// is often at the end (the SDK's client writes method and params first), so the whole text is
// scanned, byte by byte: only the structure matters, and every byte of it is ASCII.

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Enough for any id a client sends (a number or a UUID-sized string); longer ones are not captured. */
const MAX_CAPTURE = 256;

export class RequestIdScanner {
  private depth = 0;
  private started = false;
  private broken = false;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  private key: number[] | undefined;
  private lastKey = '';
  private value: number[] | undefined;
  private found: string | number | undefined;
  private sawMethod = false;

  push(buf: Buffer, start = 0, end = buf.length): void {
    for (let i = start; i < end && !this.broken; i++) this.byte(buf[i]);
  }

  /** The id when one was read (a string or a number), else undefined. */
  id(): string | number | undefined {
    this.finishValue();
    return this.found;
  }

  /** Whether a top-level "method" member was seen (a request or notification, not a response). */
  hasMethod(): boolean {
    return this.sawMethod;
  }

  private byte(b: number) {
    if (!this.started) {
      if (b === 0x20 || b === 0x09 || b === 0x0d || b === 0xef || b === 0xbb || b === 0xbf) return; // whitespace, a byte-order mark
      this.started = true;
      if (b !== OPEN_OBJECT) {
        this.broken = true;
        return;
      }
      this.depth = 1;
      this.expectKey = true;
      return;
    }
    if (this.value && this.depth === 1 && !this.inString && (b === COMMA || b === CLOSE_OBJECT)) this.finishValue();
    if (this.value && this.value.length <= MAX_CAPTURE) this.value.push(b);
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === QUOTE) {
        this.inString = false;
        if (this.key) {
          this.lastKey = Buffer.from(this.key).toString('utf8');
          if (this.lastKey === 'method') this.sawMethod = true;
          this.key = undefined;
        }
      } else if (this.key && this.key.length <= 8) this.key.push(b);
      return;
    }
    switch (b) {
      case QUOTE:
        this.inString = true;
        if (this.depth === 1 && this.expectKey) {
          this.key = [];
          this.expectKey = false;
        }
        return;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        this.depth++;
        return;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        this.depth--;
        return;
      case COMMA:
        if (this.depth === 1) this.expectKey = true;
        return;
      case COLON:
        if (this.depth === 1 && this.lastKey === 'id') this.value = [];
        return;
      default:
        return;
    }
  }

  private finishValue() {
    if (!this.value) return;
    const raw = this.value;
    this.value = undefined;
    if (raw.length > MAX_CAPTURE) return;
    try {
      const v: unknown = JSON.parse(Buffer.from(raw).toString('utf8'));
      if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) this.found = v;
    } catch {
      // Not a JSON value on its own (an object, a cut-off text): no id to answer.
    }
  }
}
