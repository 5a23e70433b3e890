/**
 * RFC 4180 records of decoded text: commas, doubled quotes and line breaks inside quoted fields,
 * CRLF, LF or CR line ends. Every record is kept whatever its number of fields (the rules reject
 * it), with the physical line it starts on, so errors can name it, and its raw text (capped) for
 * the quarantine. A quote inside an unquoted field is kept as a character, and so is a quoted field
 * whose closing quote is followed by anything but a comma or a line end (`"ab"c` reads as the text
 * `"ab"c`); a quoted field still open at the end of the input becomes one record flagged
 * `unterminated`. These are csv-parse's relaxed rules (relax_quotes, relax_column_count), which
 * this reader matches record for record (csv-records.spec.ts compares the two on random text).
 *
 * A record with no quote is found with two `indexOf`s and split on commas; only a record holding a
 * quote goes character by character. Either way the state carries across `push` calls, so text may
 * be cut anywhere and a record of any length costs time in proportion to its length.
 */
export interface CsvRecord {
  fields: string[];
  /** 1-based physical line where the record starts. */
  line: number;
  raw: string;
  /** The record ended inside an open quoted field (a truncated file). */
  unterminated: boolean;
}

const RAW_CAP = 2000;
const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** Where the character machine is within a record. */
const enum Mode {
  /** At the start of a field (the record's first or after a comma). */
  FieldStart,
  /** In a field that is not quoted (or no longer: a quoted field relaxed into text). */
  Unquoted,
  /** Inside a quoted field. */
  Quoted,
  /** Inside a quoted field, just after a quote: a doubled quote, the field's end, or text follows. */
  QuoteInQuoted,
}

/** A record parser fed text with `push` (any chunking) and `end`, each returning the records completed. */
export class CsvRecordReader {
  private out: CsvRecord[] = [];
  /** The physical line the next record starts on. */
  private line: number;
  /** A CR ended the last record: a LF right after it belongs to that line end. */
  private skipLf = false;
  /** Whether a record is under way in the character machine (its text began in an earlier push or holds a quote). */
  private isOpen = false;
  private mode = Mode.FieldStart;
  private fields: string[] = [];
  private field = '';
  private raw = '';
  /** Line breaks inside the open record's quoted fields. */
  private inner = 0;

  /** `firstLine`: the physical line the text starts on (a part of a file read by readers of its own). */
  constructor(firstLine = 1) {
    this.line = firstLine;
  }

  /** The physical line the next record starts on, once no record is under way (`open`). */
  get nextLine(): number {
    return this.line;
  }

  /** A record is under way: the text so far ends inside it (or right after a CR whose LF may follow). */
  get open(): boolean {
    return this.isOpen || this.skipLf;
  }

  push(text: string): CsvRecord[] {
    this.scan(text);
    return this.out.splice(0);
  }

  /** Ends the input: returns the records completed by its end (the last line without a line break). */
  end(): CsvRecord[] {
    // Still inside quotes: the record as written, its open quote dropped, flagged (what csv-parse reports).
    if (this.isOpen) this.emit([...this.fields, this.field], this.mode === Mode.Quoted);
    return this.out.splice(0);
  }

  private scan(s: string): void {
    const n = s.length;
    let p = 0;
    if (this.skipLf && n > 0) {
      this.skipLf = false;
      if (s.charCodeAt(0) === LF) p = 1;
    }
    // Where the next quote and CR are, or n if there is none (indexOr says why not -1).
    let nextQuote = indexOr(s, '"', p, n);
    let nextCr = indexOr(s, '\r', p, n);
    while (p < n) {
      if (this.isOpen) {
        p = this.machine(s, p);
        continue;
      }
      const lf = s.indexOf('\n', p);
      if (nextCr < p) nextCr = indexOr(s, '\r', p, n);
      if (nextQuote < p) nextQuote = indexOr(s, '"', p, n);
      let end = lf === -1 ? nextCr : Math.min(lf, nextCr);
      if (end === n || nextQuote < end) {
        // A quote before the line's end, or the line goes on in the next push: character by character.
        this.isOpen = true;
        this.mode = Mode.FieldStart;
        continue;
      }
      const text = s.slice(p, end);
      this.out.push({ fields: text.split(','), line: this.line, raw: text.length > RAW_CAP ? text.slice(0, RAW_CAP) : text, unterminated: false });
      this.line++;
      if (s.charCodeAt(end) === CR) {
        if (end + 1 === n) this.skipLf = true;
        else if (s.charCodeAt(end + 1) === LF) end++;
      }
      p = end + 1;
    }
  }

  /** Runs the character machine over s from p until the open record ends or the text does; where it stopped. */
  private machine(s: string, p: number): number {
    const n = s.length;
    const start = p; // the first character of s not yet added to this.raw
    let mode = this.mode;
    let field = this.field;
    for (; p < n; p++) {
      const c = s.charCodeAt(p);
      if (mode === Mode.QuoteInQuoted) {
        if (c === QUOTE) {
          field += '"';
          mode = Mode.Quoted;
          continue;
        }
        if (c === COMMA || c === LF || c === CR) mode = Mode.FieldStart; // the quoted field ended; the comma or line end is read below
        else {
          // Text after the closing quote: the field is text, its quotes as written.
          field = `"${field}"`;
          mode = Mode.Unquoted;
        }
      }
      if (mode === Mode.Quoted) {
        if (c === QUOTE) mode = Mode.QuoteInQuoted;
        else {
          if (c === LF || c === CR) this.inner++;
          field += s[p];
        }
        continue;
      }
      if (c === COMMA) {
        this.fields.push(field);
        field = '';
        mode = Mode.FieldStart;
        continue;
      }
      if (c === LF || c === CR) {
        this.addRaw(s, start, p);
        this.emit([...this.fields, field], false);
        if (c === CR) {
          if (p + 1 === n) this.skipLf = true;
          else if (s.charCodeAt(p + 1) === LF) p++;
        }
        return p + 1;
      }
      if (mode === Mode.FieldStart && c === QUOTE && field === '') {
        mode = Mode.Quoted;
        continue;
      }
      mode = Mode.Unquoted;
      field += s[p];
    }
    this.addRaw(s, start, n);
    this.mode = mode;
    this.field = field;
    return n;
  }

  private addRaw(s: string, from: number, to: number): void {
    if (this.raw.length >= RAW_CAP || from >= to) return;
    this.raw = (this.raw + s.slice(from, Math.min(to, from + RAW_CAP)).replace(/[\r\n]/g, '')).slice(0, RAW_CAP);
  }

  /** Emits the record under way in the character machine and readies it for the next. */
  private emit(fields: string[], unterminated: boolean): void {
    this.out.push({ fields, line: this.line, raw: this.raw, unterminated });
    this.line += 1 + this.inner;
    this.isOpen = false;
    this.mode = Mode.FieldStart;
    this.fields = [];
    this.field = '';
    this.raw = '';
    this.inner = 0;
  }
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** One CSV line from fields, quoting where needed. */
export function toCsvLine(fields: ReadonlyArray<string | number>): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    const s = String(fields[i]);
    if (i > 0) line += ',';
    line += NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }
  return line;
}

/**
 * Where `c` next is in `s` from `from`, or `none` if it is not there. scan keeps the next quote and
 * CR as positions that are never -1: written as `next !== -1 && next < p`, its test made the
 * optimised code of Node 20's V8 look for both again after every line when the reader ran from an
 * esbuild bundle (a strict-mode file), each search reading to the end of the text when there were
 * none: a million lines took 2.1 s against 0.32 s from the sources through tsx, and validate-raw's
 * container 6.3 s against 4.8 s for its task.
 */
function indexOr(s: string, c: string, from: number, none: number): number {
  const i = s.indexOf(c, from);
  return i === -1 ? none : i;
}
