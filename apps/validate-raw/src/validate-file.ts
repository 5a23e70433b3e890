import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { addCounts, addReasons, type FileAccount, type Logger } from '@trips/core';
import { columnNames, tableOfLayer } from '@trips/pipeline';
import type { CheckPool } from './check-pool';
import { RowCutter, type RowWork } from './row-cutter';
import { checkBatch, checkRecords, noRows, type CheckedRows } from './row-checks';
import { headerMatches, type DateRange, type FileReason } from './rules';

export interface FileResult {
  account: FileAccount;
  /** Set when the whole file is refused. */
  fileReason?: FileReason;
}

/** Lines for a file, written in chunks of about 1 MiB rather than a write per row. */
class Lines {
  private pending = '';

  constructor(private readonly stream: Writable) {}

  add(line: string): void {
    this.pending += `${line}\n`;
  }

  /** Lines already ended by their line breaks. */
  addLines(text: string): void {
    this.pending += text;
  }

  async flush(force = false): Promise<void> {
    if (this.pending.length === 0 || (!force && this.pending.length < 1 << 20)) return;
    const text = this.pending;
    this.pending = '';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }
}

/** A local file to write, and its end: resolved once every byte is on disk. */
interface Output {
  stream: Writable;
  done: Promise<void>;
}

function plainFile(path: string): Output {
  const stream = createWriteStream(path);
  return settled(stream, once(stream, 'close').then(() => undefined));
}

/** A failed write surfaces when the file is closed, not as an unhandled rejection before that. */
function settled(stream: Writable, done: Promise<void>): Output {
  done.catch(() => undefined);
  return { stream, done };
}

/** gzip's magic number (RFC 1952): how a compressed delivery is told from text, whatever its name. */
const isGzip = (bytes: Buffer) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

async function close(output: Output): Promise<void> {
  output.stream.end();
  await output.done;
}

export interface ValidateFileOptions {
  /** Trip dates accepted (all when absent). */
  dates?: DateRange;
  logger?: Logger;
  /** Worker threads to check the rows on; without, this thread checks them. */
  pool?: CheckPool;
  /** Characters of a batch of rows (BATCH_CHARS by default). */
  batchChars?: number;
}

/**
 * Reads one raw file as a stream and splits its rows into `validatedPath` and `quarantinePath`
 * (CSV, RFC 4180), local files the caller uploads only if the file as a whole is accepted (the
 * validated rows as Parquet, validated-parquet.ts; the quarantine as it is, for people to read). Accepted rows are written in canonical form (normaliseField);
 * rejected ones as delivered, control characters made visible. A file delivered gzip-compressed
 * (its first bytes are gzip's magic number, whatever its name) is read through gunzip; its hash and
 * byte count stay those of the bytes delivered.
 *
 * The text is cut into batches of whole lines (row-cutter.ts) that `pool`'s worker threads check
 * while this thread reads, decodes and cuts the next ones; their rows are written in file order, as
 * one thread would write them (without a pool, this thread checks them). Memory holds a few batches.
 */
export async function validateFile(key: string, body: Readable, validatedPath: string, quarantinePath: string, options: ValidateFileOptions = {}): Promise<FileResult> {
  const { dates, logger, pool } = options;
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const cutter = new RowCutter(options.batchChars);
  const validatedFile = plainFile(validatedPath);
  const quarantineFile = plainFile(quarantinePath);
  const validated = new Lines(validatedFile.stream);
  const quarantine = new Lines(quarantineFile.stream);
  // The header of each: the catalog's columns of the validated rows and of the quarantine.
  validated.add(columnNames(tableOfLayer('validated')).join(','));
  quarantine.add(columnNames(tableOfLayer('quarantine')).join(','));
  const account: FileAccount = { file: key, status: 'ok', rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 }, rejectedByReason: {}, bytes: 0 };
  let fileReason: FileReason | undefined;
  let detail = '';
  let sawText = false;

  // Checked rows, in file order: the batches on the pool's workers, a few ahead of those written.
  const checking: Array<Promise<CheckedRows> | CheckedRows> = [];
  const ahead = pool ? 2 * pool.size : 0;
  const write = async (rows: CheckedRows) => {
    if (fileReason) return;
    const before = account.rows.read;
    account.rows = addCounts(account.rows, rows.rows);
    addReasons(account.rejectedByReason, rows.rejectedByReason);
    validated.addLines(rows.validated);
    quarantine.addLines(rows.quarantine);
    await validated.flush();
    await quarantine.flush();
    if (Math.floor(account.rows.read / 500_000) > Math.floor(before / 500_000)) logger?.info({ file: key, rows: account.rows }, `validate-raw: ${key}: ${account.rows.read} rows`);
  };
  const settle = async (all: boolean) => {
    while (checking.length > (all ? 0 : ahead)) await write(await (checking.shift() as Promise<CheckedRows> | CheckedRows));
  };
  const take = async (work: RowWork[]) => {
    for (const w of work) {
      if (fileReason) return;
      if ('header' in w) {
        const r = w.header;
        if (!headerMatches(r.fields)) {
          fileReason = 'bad_header';
          detail = `line ${r.line}: expected header "region,origin_coord,destination_coord,datetime,datasource", got ${JSON.stringify(r.raw.slice(0, 200))}`;
        }
        continue;
      }
      if ('records' in w) checking.push(checkRecords(w.records, key, dates, noRows()));
      else if (!pool) checking.push(checkBatch({ key, dates, ...w.batch }));
      else {
        const rows = pool.check({ key, dates, ...w.batch });
        rows.catch(() => undefined); // awaited in turn below; a failure then fails the file
        checking.push(rows);
      }
      await settle(false);
    }
  };

  let gzipped = false;
  let inflated = 0;
  const delivered = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      hash.update(bytes);
      account.bytes = (account.bytes ?? 0) + bytes.length;
      if (!fileReason) yield bytes; // once refused, read on only to hash what was delivered
    }
  };
  const chunks = async function* (): AsyncGenerator<Buffer> {
    const source = delivered();
    const first = await source.next();
    if (first.done) return;
    if (!isGzip(first.value)) {
      yield first.value;
      yield* source;
      return;
    }
    gzipped = true;
    // Pieces of 128 KiB rather than gunzip's 16 KiB: a third less time on a million rows, from the
    // work each piece costs (a push, a flush, an await); 1 MiB pieces were slower again.
    const inflate = createGunzip({ chunkSize: 1 << 17 });
    const feeding = (async () => {
      for (let next: IteratorResult<Buffer> = first; !next.done && !inflate.destroyed; next = await source.next()) {
        if (!inflate.write(next.value)) await once(inflate, 'drain');
      }
      inflate.end();
    })();
    feeding.catch(() => undefined);
    try {
      for await (const out of inflate) {
        inflated += (out as Buffer).length;
        yield out as Buffer;
      }
    } catch (e) {
      fileReason = 'bad_gzip';
      detail = `the gzip stream is corrupt after ${inflated} uncompressed bytes: ${(e as Error).message}`;
      inflate.destroy();
      for await (const _ of source) void _; // read on only to hash the rest of what was delivered
      return;
    }
    await feeding;
  };

  for await (const bytes of chunks()) {
    if (fileReason) continue;
    let text: string;
    try {
      text = decoder.decode(bytes, { stream: true });
    } catch {
      fileReason = 'not_utf8';
      const end = gzipped ? inflated : (account.bytes ?? 0);
      detail = `invalid UTF-8 byte sequence within ${gzipped ? 'uncompressed ' : ''}bytes ${end - bytes.length}..${end}`;
      continue;
    }
    if (!sawText && text.trim() !== '') sawText = true;
    await take(cutter.push(text));
  }
  if (!fileReason) {
    try {
      const rest = decoder.decode();
      if (rest.trim() !== '') sawText = true;
      await take(cutter.push(rest));
    } catch {
      fileReason = 'not_utf8';
      detail = 'the file ends inside a multi-byte UTF-8 sequence';
    }
  }
  if (!fileReason) {
    if (!sawText) {
      fileReason = 'empty_file';
      detail = account.bytes === 0 ? 'the file has no bytes' : 'the file holds only whitespace';
    } else await take(cutter.end());
  }
  await settle(true);
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
