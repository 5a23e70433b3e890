/**
 * A streaming RFC 4180 record reader over decoded text: commas, doubled quotes and line breaks inside
 * quoted fields, CRLF or LF line ends. It tracks the physical line each record starts on, so errors
 * can name it, and keeps the record's raw text (capped) for the quarantine.
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

export class CsvRecordReader {
  private fields: string[] = [];
  private field = '';
  private raw = '';
  private inQuotes = false;
  /** A quote seen inside a quoted field: either an escaped quote or the closing one. */
  private quotePending = false;
  private pendingCR = false;
  private line = 1;
  private recordLine = 1;
  private started = false;

  /** Feeds a chunk of text; returns the records completed by it. */
  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.pendingCR) {
        this.pendingCR = false;
        if (c === '\n') continue; // CRLF: the record already ended at the CR
      }
      if (this.raw.length < RAW_CAP && c !== '\r' && c !== '\n') this.raw += c;
      if (!this.started) {
        this.started = true;
        this.recordLine = this.line;
      }
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === '"') {
            this.field += '"';
            continue;
          }
          this.inQuotes = false; // the pending quote closed the field; handle c unquoted below
        } else if (c === '"') {
          this.quotePending = true;
          continue;
        } else {
          if (c === '\n' || c === '\r') {
            this.line++;
            if (c === '\r' && text[i + 1] === '\n') {
              this.field += '\r\n';
              i++;
              continue;
            }
          }
          this.field += c;
          continue;
        }
      }
      if (c === '"' && this.field === '') {
        this.inQuotes = true;
      } else if (c === ',') {
        this.fields.push(this.field);
        this.field = '';
      } else if (c === '\n' || c === '\r') {
        out.push(this.finish(false));
        this.line++;
        if (c === '\r') this.pendingCR = true;
      } else {
        this.field += c;
      }
    }
    return out;
  }

  /** Ends the input: returns the last record when the text did not end with a line break. */
  end(): CsvRecord[] {
    if (!this.started) return [];
    if (this.inQuotes && this.quotePending) {
      this.inQuotes = false;
      this.quotePending = false;
    }
    return [this.finish(this.inQuotes)];
  }

  private finish(unterminated: boolean): CsvRecord {
    this.fields.push(this.field);
    const record = { fields: this.fields, line: this.recordLine, raw: this.raw, unterminated };
    this.fields = [];
    this.field = '';
    this.raw = '';
    this.inQuotes = false;
    this.quotePending = false;
    this.started = false;
    return record;
  }
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
