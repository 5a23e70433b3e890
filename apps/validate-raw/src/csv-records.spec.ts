import { CsvRecordReader, toCsvLine } from './csv-records';

function read(chunks: string[]) {
  const r = new CsvRecordReader();
  const out = chunks.flatMap((c) => r.push(c));
  return [...out, ...r.end()].map((x) => ({ fields: x.fields, line: x.line, unterminated: x.unterminated }));
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

  it('flags a quoted field left open at the end of the input', () => {
    expect(read(['a,"open\nstill'])).toEqual([{ fields: ['a', 'open\nstill'], line: 1, unterminated: true }]);
  });

  it('yields no record for a trailing line break and an empty record for a blank line', () => {
    expect(read(['a\n\nb\n']).map((r) => r.fields)).toEqual([['a'], [''], ['b']]);
  });

  it('quotes only where needed when writing', () => {
    expect(toCsvLine(['plain', 'a,b', 'say "x"', ' pad', 3])).toBe('plain,"a,b","say ""x"""," pad",3');
  });
});
