// String ids → dense integer ids, for reading a training window of any size. A JS Map refuses its
// 16,777,217th entry and costs an object per key; this is an open-addressing table over typed
// arrays (slots hold id + 1, 0 = empty) with the id text in a chunked UTF-16 arena, so the only
// limits are the typed arrays' (2³² slots): no per-entry limit below 2³¹ ids.

const ARENA_CHUNK = 1 << 20; // code units per arena chunk; an id never straddles two
const MAX_LOAD = 0.75;

/** FNV-1a over UTF-16 code units, finished with a murmur-style avalanche. */
export function hashId(s: string): number {
  let h = 0x811c9dc5;
  for (let c = 0; c < s.length; c++) h = Math.imul(h ^ s.charCodeAt(c), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

function grown<T extends Int32Array | Float64Array | Uint16Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export class IdInterner {
  private slots: Uint32Array;
  private mask: number;
  private readonly arena: Uint16Array[] = [];
  private arenaUsed = ARENA_CHUNK; // forces the first chunk
  /** per id: start in the arena (chunk · ARENA_CHUNK + offset), length in code units, hash */
  private starts = new Float64Array(1024);
  private lengths = new Uint16Array(1024);
  private hashes = new Int32Array(1024);
  /** distinct ids so far; id j is in [0, size) */
  size = 0;

  constructor(capacity = 1024) {
    let slots = 16;
    while (slots * MAX_LOAD < capacity) slots *= 2;
    this.slots = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** The id of `s`, or -1 when it was never interned. */
  find(s: string, h = hashId(s)): number {
    const slots = this.slots;
    const mask = this.mask;
    for (let p = (h & mask) >>> 0; ; p = ((p + 1) & mask) >>> 0) {
      const slot = slots[p]!;
      if (slot === 0) return -1;
      const id = slot - 1;
      if (this.hashes[id] === h && this.equals(id, s)) return id;
    }
  }

  /** The id of `s`, interning it when new. */
  intern(s: string, h = hashId(s)): number {
    const found = this.find(s, h);
    return found >= 0 ? found : this.insert(s, h);
  }

  /** Interns `s`, known to be absent (find returned -1). */
  insert(s: string, h = hashId(s)): number {
    if (s.length > 0xffff) throw new RangeError('IdInterner: id longer than 65,535 code units');
    if (this.size + 1 > (this.mask + 1) * MAX_LOAD) this.rehash();
    const id = this.size++;
    if (this.arenaUsed + s.length > ARENA_CHUNK) {
      this.arena.push(new Uint16Array(ARENA_CHUNK));
      this.arenaUsed = 0;
    }
    const chunk = this.arena[this.arena.length - 1]!;
    for (let c = 0; c < s.length; c++) chunk[this.arenaUsed + c] = s.charCodeAt(c);
    this.starts = grown(this.starts, id + 1);
    this.lengths = grown(this.lengths, id + 1);
    this.hashes = grown(this.hashes, id + 1);
    this.starts[id] = (this.arena.length - 1) * ARENA_CHUNK + this.arenaUsed;
    this.lengths[id] = s.length;
    this.hashes[id] = h;
    this.arenaUsed += s.length;
    this.place(id);
    return id;
  }

  /** The text of id `id`. */
  idAt(id: number): string {
    const start = this.starts[id]!;
    const chunk = this.arena[Math.floor(start / ARENA_CHUNK)]!;
    const off = start % ARENA_CHUNK;
    return String.fromCharCode.apply(
      null,
      chunk.subarray(off, off + this.lengths[id]!) as unknown as number[],
    );
  }

  /** Every id's text, in id order. */
  ids(): string[] {
    const out = new Array<string>(this.size);
    for (let j = 0; j < this.size; j++) out[j] = this.idAt(j);
    return out;
  }

  /** Bytes held by the table and the arena. */
  bytes(): number {
    return (
      this.slots.byteLength +
      this.arena.length * ARENA_CHUNK * 2 +
      this.starts.byteLength +
      this.lengths.byteLength +
      this.hashes.byteLength
    );
  }

  private equals(id: number, s: string): boolean {
    const len = this.lengths[id]!;
    if (len !== s.length) return false;
    const start = this.starts[id]!;
    const chunk = this.arena[Math.floor(start / ARENA_CHUNK)]!;
    const off = start % ARENA_CHUNK;
    for (let c = 0; c < len; c++) if (chunk[off + c] !== s.charCodeAt(c)) return false;
    return true;
  }

  private place(id: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let p = (this.hashes[id]! & mask) >>> 0;
    while (slots[p] !== 0) p = ((p + 1) & mask) >>> 0;
    slots[p] = id + 1;
  }

  private rehash(): void {
    const slots = (this.mask + 1) * 2;
    if (slots > 2 ** 32) throw new RangeError('IdInterner: more than 2³² slots');
    this.slots = new Uint32Array(slots);
    this.mask = slots - 1;
    for (let id = 0; id < this.size; id++) this.place(id);
  }
}
