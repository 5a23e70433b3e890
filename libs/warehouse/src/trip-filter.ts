/**
 * A Bloom filter of trips: which trips a day of the facts may hold. A load asks it for each of its
 * trips instead of matching them against every fact of the span of their timestamps
 * (docs/warehouse.md, "Day filters instead of the span's facts"). It never says no to a trip it
 * holds, and says yes to one it does not about once in 1,400 (16 bits a trip, 6 probes).
 *
 * A trip is its key's 128 bits as four 32-bit words (an md5 key, parquet-pg.ts). Both hashes of the
 * probes (h1 + i * h2) mix all four words, so keys that are not uniform (the tests' counters, which
 * differ in the last word only) spread as well as md5 keys do.
 */
export class TripFilter {
  static readonly BITS_PER_TRIP = 16;
  static readonly PROBES = 6;
  private readonly mask: number;

  /** A filter over `bytes` (a power of two long, at least 8): empty, or as stored. */
  constructor(readonly bytes: Uint8Array) {
    const bits = bytes.length * 8;
    if (bytes.length < 8 || (bytes.length & (bytes.length - 1)) !== 0 || bits > 2 ** 32) throw new Error(`a trip filter is a power of two bytes long, from 8 to 512 MiB: got ${bytes.length}`);
    this.mask = bits - 1;
  }

  /** An empty filter sized for `trips` trips. */
  static sizedFor(trips: number): TripFilter {
    let bytes = 8;
    while (bytes * 8 < trips * TripFilter.BITS_PER_TRIP && bytes < 2 ** 29) bytes *= 2;
    return new TripFilter(new Uint8Array(bytes));
  }

  add(w0: number, w1: number, w2: number, w3: number): void {
    const h1 = hash1(w0, w1, w2, w3);
    const h2 = hash2(w0, w1, w2, w3);
    for (let i = 0; i < TripFilter.PROBES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) & this.mask;
      this.bytes[bit >>> 3] |= 1 << (bit & 7);
    }
  }

  /** False: the trip was never added. True: it may have been. */
  has(w0: number, w1: number, w2: number, w3: number): boolean {
    return this.hasHashed(hash1(w0, w1, w2, w3), hash2(w0, w1, w2, w3));
  }

  /**
   * `has` for a trip whose two hashes (TripFilter.hashes) are known: every filter hashes a trip
   * alike, so a trip asked of several filters is hashed once (the hashes cost most of a `has`; a
   * trip a filter does not hold is told apart at its first or second probe, usually).
   */
  hasHashed(h1: number, h2: number): boolean {
    for (let i = 0; i < TripFilter.PROBES; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) & this.mask;
      if ((this.bytes[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** A trip's two hashes, as every filter computes them: for hasHashed. */
  static hashes(w0: number, w1: number, w2: number, w3: number): [number, number] {
    return [hash1(w0, w1, w2, w3), hash2(w0, w1, w2, w3)];
  }
}

const hash1 = (w0: number, w1: number, w2: number, w3: number) => mix(w0 ^ mix(w1 ^ mix(w2 ^ mix(w3 ^ 0x9e3779b9))));
const hash2 = (w0: number, w1: number, w2: number, w3: number) => mix(w3 ^ mix(w2 ^ mix(w1 ^ mix(w0 ^ 0x85ebca6b)))) | 1;

/** A 32-bit finaliser (every input bit moves every output bit): MurmurHash3's, as published. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A key of 32 hex digits (a uuid's text, hyphens or not) as its four 32-bit words. */
export function keyWords(key: string): [number, number, number, number] {
  const hex = key.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a key of 32 hex digits: ${key}`);
  return [0, 8, 16, 24].map((i) => parseInt(hex.slice(i, i + 8), 16)) as [number, number, number, number];
}

/**
 * The keys and timestamps of a load's trips, gathered as the load decodes them (parquet-pg.ts): four
 * words a key, and microseconds since 2000-01-01 (PostgreSQL's epoch).
 */
export class TripKeys {
  words: Uint32Array;
  micros: Float64Array;
  length = 0;

  constructor(capacity: number) {
    this.words = new Uint32Array(Math.max(1, capacity) * 4);
    this.micros = new Float64Array(Math.max(1, capacity));
  }

  push(w0: number, w1: number, w2: number, w3: number, micros: number): void {
    if (this.length === this.micros.length) {
      const words = new Uint32Array(this.words.length * 2);
      words.set(this.words);
      const micros = new Float64Array(this.micros.length * 2);
      micros.set(this.micros);
      this.words = words;
      this.micros = micros;
    }
    const o = this.length * 4;
    this.words[o] = w0;
    this.words[o + 1] = w1;
    this.words[o + 2] = w2;
    this.words[o + 3] = w3;
    this.micros[this.length++] = micros;
  }

  /** The i-th key as a uuid's text. */
  key(i: number): string {
    const hex = Array.from(this.words.subarray(i * 4, i * 4 + 4), (w) => w.toString(16).padStart(8, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
