import { CsvRecordReader, type CsvRecord } from './csv-records';
import { cut, randomText, seeded } from './random-text';
import { countLines, RowCutter, type RowWork } from './row-cutter';

/** The records of the work, in order: a batch read by a reader of its own from its first line, as a worker thread reads it. */
function recordsOf(work: RowWork[]): CsvRecord[] {
  return work.flatMap((w) => {
    if ('header' in w) return [w.header];
    if ('records' in w) return w.records;
    const reader = new CsvRecordReader(w.batch.line);
    return [...reader.push(w.batch.text), ...reader.end()];
  });
}

function cutWhole(pieces: string[], batchChars: number): RowWork[] {
  const cutter = new RowCutter(batchChars);
  return [...pieces.flatMap((p) => cutter.push(p)), ...cutter.end()];
}

const wholeRecords = (text: string) => {
  const reader = new CsvRecordReader();
  return [...reader.push(text), ...reader.end()];
};

describe('RowCutter', () => {
  it('cuts lines without quotes into batches of whole lines, numbered from the line each starts on', () => {
    const text = 'region,origin\na,1\nb,2\r\nc,3\rd,4\n\ne,5\nlast';
    const work = cutWhole([text], 8);
    expect(work[0]).toEqual({ header: { fields: ['region', 'origin'], line: 1, raw: 'region,origin', unterminated: false } });
    const batches = work.flatMap((w) => ('batch' in w ? [w.batch] : []));
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      expect(b.text).toMatch(/\n$/);
      expect(b.text).not.toContain('"');
    }
    expect(batches[0].line).toBe(2);
    // The last line, without a line break, is read here.
    expect(work[work.length - 1]).toEqual({ records: [{ fields: ['last'], line: 8, raw: 'last', unterminated: false }] });
    expect(recordsOf(work)).toEqual(wholeRecords(text));
  });

  it('reads a line holding a quote, and the lines its quoted field goes on over, itself', () => {
    const text = 'h\nplain,1\n"multi\nline",2\nafter,3\nx,"y"\nz,4\n';
    const work = cutWhole([text], 4);
    const read = work.flatMap((w) => ('records' in w ? w.records.map((r) => r.fields[0]) : []));
    expect(read).toEqual(['multi\nline', 'x']);
    expect(recordsOf(work)).toEqual(wholeRecords(text));
    expect(recordsOf(work).map((r) => r.line)).toEqual([1, 2, 3, 5, 6, 7]);
  });

  it('yields the records one reader yields, with their lines, for random text cut anywhere and any batch size', () => {
    const rand = seeded(20261206);
    // Fewer quotes than in csv-records.spec.ts, so that batches form between them.
    const alphabet = ['a', 'b', ',', ',', ' ', 'é', '\n', '\n', '\n', '\r', '\r\n', '"'];
    let batched = 0;
    for (let i = 0; i < 3000; i++) {
      const text = randomText(rand, 1 + Math.floor(rand() * 120), alphabet);
      const batchChars = 1 + Math.floor(rand() * 30);
      const work = cutWhole(rand() < 0.5 ? [text] : cut(rand, text), batchChars);
      expect({ text, batchChars, records: recordsOf(work) }).toEqual({ text, batchChars, records: wholeRecords(text) });
      for (const w of work) if ('batch' in w) expect({ text, batch: w.batch.text }).toEqual({ text, batch: expect.not.stringContaining('"') });
      batched += work.filter((w) => 'batch' in w).length;
    }
    expect(batched).toBeGreaterThan(3000);
  });

  it('counts the lines of text without quotes as a reader does', () => {
    for (const text of ['a\n', 'a\r\n', 'a\rb\n', '\n\n\r\r\n', 'x\r\r\n']) {
      expect({ text, lines: countLines(text) }).toEqual({ text, lines: new CsvRecordReader().push(text).length });
    }
  });
});
