import { parse } from 'csv-parse/sync';
import { CsvRecordReader, toCsvLine } from './csv-records';
import { cut, randomText, seeded } from './random-text';

function read(chunks: string[]) {
  const r = new CsvRecordReader();
  const out = chunks.flatMap((c) => r.push(c));
  return [...out, ...r.end()].map((x) => ({ fields: x.fields, line: x.line, unterminated: x.unterminated }));
}

/**
 * The same input through csv-parse with the relaxed options the reader follows: each record's
 * fields, the line it starts on and its raw text, line breaks removed. A quote left open at the end
 * is csv-parse's one error under these options: it skips that last record (`unterminated`), and
 * the reader flags it instead.
 */
function oracle(text: string) {
  const records: Array<{ fields: string[]; line: number; raw: string; unterminated: boolean }> = [];
  let unterminated = false;
  let lastLine = 0;
  const parsed = parse(text, {
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: false,
    raw: true,
    info: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_records_with_error: true,
    on_skip: (e: { code?: string } | undefined) => {
      if (e?.code !== 'CSV_QUOTE_NOT_CLOSED') throw new Error(`csv-parse skipped a record for ${e?.code}`);
      unterminated = true;
    },
  }) as unknown as Array<{ record: string[]; raw: string; info: { lines: number } }>;
  for (const r of parsed) {
    records.push({ fields: r.record, line: lastLine + 1, raw: r.raw.replace(/\r?\n$|\r$/, '').replace(/[\r\n]/g, ''), unterminated: false });
    lastLine = r.info.lines;
  }
  return { records, unterminated };
}

describe('CsvRecordReader', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, naming the line each record starts on', () => {
    expect(read(['a,"b,1","say ""hi"""\n"multi\nline",x\nlast,row'])).toEqual([
      { fields: ['a', 'b,1', 'say "hi"'], line: 1, unterminated: false },
      { fields: ['multi\nline', 'x'], line: 2, unterminated: false },
      { fields: ['last', 'row'], line: 4, unterminated: false },
    ]);
  });

  it('gives the same records whatever the chunk boundaries, with CRLF split across chunks', () => {
    const text = 'a,"q""x"\r\nb,c\r\n"d\r\ne",f\r\n';
    const whole = read([text]);
    const byChar = read(text.split(''));
    expect(byChar).toEqual(whole);
    expect(whole).toEqual([
      { fields: ['a', 'q"x'], line: 1, unterminated: false },
      { fields: ['b', 'c'], line: 2, unterminated: false },
      { fields: ['d\r\ne', 'f'], line: 3, unterminated: false },
    ]);
  });

  it('keeps a quote inside a field, and a quoted field followed by text, as written', () => {
    expect(read(['a,b"c,d\n"ab"c,"x""y"z\n']).map((r) => r.fields)).toEqual([
      ['a', 'b"c', 'd'],
      ['"ab"c', '"x"y"z'],
    ]);
  });

  it('flags a quoted field left open at the end of the input', () => {
    expect(read(['a,"open\nstill'])).toEqual([{ fields: ['a', 'open\nstill'], line: 1, unterminated: true }]);
  });

  it('yields no record for a trailing line break and an empty record for a blank line', () => {
    expect(read(['a\n\nb\n']).map((r) => r.fields)).toEqual([['a'], [''], ['b']]);
  });

  it('reads a long record without a line break, across many pushes, in one piece', () => {
    const long = 'x'.repeat(50_000);
    const r = new CsvRecordReader();
    const pieces = Array.from({ length: 50 }, (_, i) => long.slice(i * 1000, (i + 1) * 1000));
    const out = [...pieces.flatMap((c) => r.push(c)), ...r.push(',"q"\n'), ...r.end()];
    expect(out).toHaveLength(1);
    expect(out[0].fields).toEqual([long, 'q']);
    expect(out[0].raw).toHaveLength(2000);
  });

  it('reads random text record for record as csv-parse does, in one piece and cut anywhere', () => {
    const rand = seeded(20261203);
    let compared = 0;
    for (let i = 0; i < 4000; i++) {
      const text = randomText(rand, 1 + Math.floor(rand() * 40));
      const expected = oracle(text);
      const r = new CsvRecordReader();
      const whole = [...r.push(text), ...r.end()];
      const pieces = new CsvRecordReader();
      const cutUp = [...cut(rand, text).flatMap((c) => pieces.push(c)), ...pieces.end()];
      expect({ text, records: cutUp }).toEqual({ text, records: whole });
      // The records before an open quote are compared too; the open one is the reader's last, flagged.
      const last = whole[whole.length - 1];
      expect({ text, unterminated: last?.unterminated ?? false }).toEqual({ text, unterminated: expected.unterminated });
      const complete = expected.unterminated ? whole.slice(0, -1) : whole;
      expect({ text, records: complete.map(({ fields, line, raw, unterminated }) => ({ fields, line, raw, unterminated })) }).toEqual({ text, records: expected.records });
      if (!expected.unterminated) compared++;
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('quotes only where needed when writing', () => {
    expect(toCsvLine(['plain', 'a,b', 'say "x"', ' pad', 3])).toBe('plain,"a,b","say ""x"""," pad",3');
  });
});
