import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { FileAccount, Logger } from '@trips/core';
import { columnNames, tableOfLayer } from '@trips/pipeline';
import { CsvRecordReader, toCsvLine, type CsvRecord } from './csv-records';
import { checkRow, headerMatches, isPlainRecord, normaliseField, visibleControls, type DateRange, type FileReason } from './rules';

export interface FileResult {
  account: FileAccount;
  /** Set when the whole file is refused. */
  fileReason?: FileReason;
}

/** Lines for a file, written in chunks of about 1 MiB rather than a write per row. */
class Lines {
  private pending = '';

  constructor(private readonly stream: WriteStream) {}

  add(line: string): void {
    this.pending += `${line}\n`;
  }

  async flush(force = false): Promise<void> {
    if (this.pending.length === 0 || (!force && this.pending.length < 1 << 20)) return;
    const text = this.pending;
    this.pending = '';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}

async function close(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/**
 * Reads one raw file as a stream and splits its rows into `validatedPath` and `quarantinePath`
 * (local CSV files, uploaded by the caller only if the file as a whole is accepted). Accepted rows
 * are written in canonical form (normaliseField); rejected ones as delivered, control characters
 * made visible. Memory holds one chunk and one record at a time.
 */
export async function validateFile(key: string, body: Readable, validatedPath: string, quarantinePath: string, dates?: DateRange, logger?: Logger): Promise<FileResult> {
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const reader = new CsvRecordReader();
  const validatedFile = createWriteStream(validatedPath);
  const quarantineFile = createWriteStream(quarantinePath);
  const validated = new Lines(validatedFile);
  const quarantine = new Lines(quarantineFile);
  // The header of each: the catalog's columns of the validated rows and of the quarantine.
  validated.add(columnNames(tableOfLayer('validated')).join(','));
  quarantine.add(columnNames(tableOfLayer('quarantine')).join(','));
  const account: FileAccount = { file: key, status: 'ok', rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 }, rejectedByReason: {}, bytes: 0 };
  let fileReason: FileReason | undefined;
  let detail = '';
  const keyField = toCsvLine([key]);
  let header: boolean | undefined;
  let sawText = false;

  const take = async (records: CsvRecord[]) => {
    for (const r of records) {
      if (fileReason) return;
      if (header === undefined) {
        header = headerMatches(r.fields);
        if (!header) {
          fileReason = 'bad_header';
          detail = `line ${r.line}: expected header "region,origin_coord,destination_coord,datetime,datasource", got ${JSON.stringify(r.raw.slice(0, 200))}`;
        }
        continue;
      }
      account.rows.read++;
      const plain = isPlainRecord(r.raw);
      const fields = plain ? r.fields : r.fields.map(normaliseField);
      const problem = checkRow(fields, r.unterminated, dates, plain);
      if (problem) {
        account.rows.rejected++;
        account.rejectedByReason[problem.reason] = (account.rejectedByReason[problem.reason] ?? 0) + 1;
        quarantine.add(toCsvLine([key, r.line, problem.reason, visibleControls(problem.detail), visibleControls(r.raw)]));
      } else {
        account.rows.passed++;
        // A plain record's text is its fields joined by commas, none of which needs quoting.
        validated.add(plain ? `${keyField},${r.line},${r.raw}` : toCsvLine([key, r.line, ...fields]));
      }
      if (account.rows.read % 500_000 === 0) logger?.info({ file: key, rows: account.rows }, `validate-raw: ${key}: ${account.rows.read} rows`);
    }
    await validated.flush();
    await quarantine.flush();
  };

  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    account.bytes = (account.bytes ?? 0) + bytes.length;
    if (fileReason) continue; // keep reading only to hash what was delivered
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      fileReason = 'not_utf8';
      detail = `invalid UTF-8 byte sequence within bytes ${(account.bytes ?? 0) - bytes.length}..${account.bytes}`;
      continue;
    }
    if (!sawText && text.trim() !== '') sawText = true;
    await take(reader.push(text));
  }
  if (!fileReason) {
    try {
      const rest = decoder.decode();
      if (rest.trim() !== '') sawText = true;
      await take(reader.push(rest));
    } catch {
      fileReason = 'not_utf8';
      detail = 'the file ends inside a multi-byte UTF-8 sequence';
    }
  }
  if (!fileReason) {
    if (!sawText) {
      fileReason = 'empty_file';
      detail = account.bytes === 0 ? 'the file has no bytes' : 'the file holds only whitespace';
    } else await take(reader.end());
  }
  await validated.flush(true);
  await quarantine.flush(true);
  await Promise.all([close(validatedFile), close(quarantineFile)]);
  account.sha256 = hash.digest('hex');
  if (fileReason) {
    // The file is refused whole: its rows are not counted as rows, the file is accounted for instead.
    return { account: { ...account, status: 'quarantined', reason: `${fileReason}: ${detail}`, rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 }, rejectedByReason: {} }, fileReason };
  }
  return { account };
}
