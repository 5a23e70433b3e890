import { parse, type Parser } from 'csv-parse';

/**
 * RFC 4180 records of decoded text, read by csv-parse: commas, doubled quotes and line breaks inside
 * quoted fields, CRLF, LF or CR line ends. Every record is kept whatever its number of fields (the
 * rules reject it), with the physical line it starts on, so errors can name it, and its raw text
 * (capped) for the quarantine. A quote inside an unquoted field is kept as a character; a quoted
 * field still open at the end of the input becomes one record flagged `unterminated`.
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

/** A record parser fed text with `push` (any chunking) and `end`, each returning the records completed. */
export class CsvRecordReader {
  private readonly parser: Parser;
  private readonly ready: CsvRecord[] = [];
  /** The physical line the previous record ended on: the next starts on the line after it. */
  private lastLine = 0;

  constructor() {
    this.parser = parse({
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: false,
      raw: true,
      info: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_records_with_error: true,
    });
    // Every record the parser emits is taken at once (the parser works synchronously per write).
    this.parser.on('data', (r: { record: string[]; raw: string; info: { lines: number } }) => this.take(r.record, r.raw, r.info.lines, false));
    // With the relaxed options the one error left is a quote never closed, at the end of the input.
    this.parser.on('skip', (e: { lines?: number; raw?: string; code?: string }) => this.take(undefined, e.raw ?? '', e.lines ?? this.lastLine + 1, true));
  }

  push(text: string): CsvRecord[] {
    if (text !== '') this.parser.write(text);
    return this.ready.splice(0);
  }

  /** Ends the input: returns the records completed by its end (the last line without a line break). */
  end(): CsvRecord[] {
    this.parser.end();
    return this.ready.splice(0);
  }

  private take(fields: string[] | undefined, raw: string, endLine: number, unterminated: boolean): void {
    const text = raw.replace(/\r?\n$|\r$/, '');
    this.ready.push({ fields: fields ?? unterminatedFields(text), line: this.lastLine + 1, raw: text.replace(/[\r\n]/g, '').slice(0, RAW_CAP), unterminated });
    this.lastLine = endLine;
  }
}

/** The fields of a record left inside an open quote: split as written, the open quote dropped. */
function unterminatedFields(text: string): string[] {
  const open = text.lastIndexOf('"');
  const before = text.slice(0, open).split(',');
  before[before.length - 1] += text.slice(open + 1);
  return before;
}

/** One CSV line from fields, quoting where needed. */
export function toCsvLine(fields: ReadonlyArray<string | number>): string {
  return fields
    .map((f) => {
      const s = String(f);
      return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    })
    .join(',');
}
