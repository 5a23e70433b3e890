// Random CSV text for the specs that compare readers of it (csv-records.spec.ts, row-cutter.spec.ts).

/** The characters that matter to CSV, with some plain ones. */
export const CSV_CHARACTERS = ['a', 'b', ',', '"', '"', '\n', '\r', '\r\n', ' ', 'é'];

/** Random text of `alphabet`'s pieces. */
export function randomText(rand: () => number, length: number, alphabet = CSV_CHARACTERS): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** A small seeded generator (mulberry32), so a failure names the case that reproduces it. */
export function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The text in random pieces of 1 to 6 characters, as a stream may cut it. */
export function cut(rand: () => number, text: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rand() * 6);
    chunks.push(text.slice(i, i + n));
    i += n;
  }
  return chunks;
}
