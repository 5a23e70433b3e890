import { CsvRecordReader, type CsvRecord } from './csv-records';

/**
 * A raw file's text cut into work, in file order:
 * - `header`: the first record;
 * - `batch`: whole lines without a quote (`text`, ending after a line break), the first on physical
 *   line `line`: checked by any thread (row-checks.ts, checkBatch), since its records, their lines
 *   and fields are known from the text alone;
 * - `records`: records read here, by the reader that knows quotes: a line holding a quote, and the
 *   lines its quoted field goes on over; the file's last line if no line break ends it.
 */
export type RowWork = { header: CsvRecord } | { batch: { text: string; line: number } } | { records: CsvRecord[] };

/** Characters of a batch: about 8,000 rows of a generated file. */
export const BATCH_CHARS = 1 << 20;

/**
 * Cuts decoded text, pushed in pieces of any size, into RowWork. Only lines holding a quote go
 * through a reader here; the rest become batches, cut after a line break, whose records start
 * where their lines do: without quotes every LF, CRLF or lone CR ends both a line and a record, so
 * the lines of a batch are counted without reading its records (countLines).
 */
export class RowCutter {
  private pending = '';
  /** The physical line `pending` starts on. */
  private line = 1;
  /** The reader of the lines read here, while they last (the header, a line with a quote, and those its quoted field goes on over). */
  private reader?: CsvRecordReader;
  private header = true;

  constructor(private readonly batchChars = BATCH_CHARS) {}

  push(text: string): RowWork[] {
    this.pending += text;
    return this.cut(false);
  }

  /** The work left once the text has ended. */
  end(): RowWork[] {
    const out = this.cut(true);
    if (this.reader) this.emit(this.reader.end(), out);
    this.reader = undefined;
    return out;
  }

  private cut(final: boolean): RowWork[] {
    const out: RowWork[] = [];
    const s = this.pending;
    let pos = 0;
    while (pos < s.length) {
      if (this.header || this.reader) {
        // A line at a time, until no record is under way.
        const lf = s.indexOf('\n', pos);
        if (lf === -1 && !final) break;
        const end = lf === -1 ? s.length : lf + 1;
        this.reader ??= new CsvRecordReader(this.line);
        this.emit(this.reader.push(s.slice(pos, end)), out);
        pos = end;
        if (!this.reader.open) {
          this.line = this.reader.nextLine;
          this.reader = undefined;
        }
        continue;
      }
      if (!final && s.length - pos < this.batchChars) break;
      // Whole lines: up to batchChars, or the one line if it is longer.
      let cut = s.lastIndexOf('\n', Math.min(s.length, pos + this.batchChars) - 1);
      if (cut < pos) cut = s.indexOf('\n', pos + this.batchChars);
      if (cut === -1) {
        if (!final) break; // a line longer than a batch, not ended yet
        // The last line, which no line break ends.
        this.reader = new CsvRecordReader(this.line);
        continue;
      }
      const text = s.slice(pos, cut + 1);
      const quote = text.indexOf('"');
      // The lines before the first one holding a quote are a batch; that line is read here.
      const plain = quote === -1 ? text : text.slice(0, text.lastIndexOf('\n', quote) + 1);
      if (plain.length > 0) {
        out.push({ batch: { text: plain, line: this.line } });
        this.line += countLines(plain);
        pos += plain.length;
      }
      if (quote !== -1) this.reader = new CsvRecordReader(this.line);
    }
    this.pending = s.slice(pos);
    return out;
  }

  private emit(records: CsvRecord[], out: RowWork[]): void {
    if (records.length === 0) return;
    if (this.header) {
      this.header = false;
      out.push({ header: records[0] });
      records = records.slice(1);
      if (records.length === 0) return;
    }
    out.push({ records });
  }
}

/** The physical lines of text without quotes that ends with a line break: its LFs, and its CRs not followed by one. */
export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) if (text.charCodeAt(i + 1) !== 10) n++;
  return n;
}
