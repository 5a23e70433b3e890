import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DataError, ExternalError, makeScratchDir, type Logger } from '@trips/core';
import { keepOnly, listDataObjects, PARQUET_MAGIC, type ObjectStore } from '@trips/storage';
import type { DatasetRef, Location, QueryEngine, QueryRequest, WriteRequest, WriteResult } from './port';
import { plainRows } from './values';

export interface DuckDbEngineOptions {
  /** Folder for a per-engine temporary subfolder (inputs, outputs, spill files), removed on close. */
  workDir: string;
  /** DuckDB memory_limit, e.g. '512MB'; beyond it DuckDB spills to disk. */
  memoryLimit: string;
  threads: number;
  /** Above this size an output is split into several files. */
  maxFileBytes?: number;
  logger?: Logger;
}

interface Staged {
  /** Keys, sizes and etags of the objects the local files are copies of. */
  signature: string;
  files: string[];
  dir?: string;
}

const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
const DOWNLOADS_IN_FLIGHT = 4;
const PARQUET = 'application/vnd.apache.parquet';

const str = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const locKey = (l: Location) => `s3://${l.bucket}/${l.prefix}`;
const firstLine = (sql: string) => sql.trim().replace(/\s+/g, ' ').slice(0, 160);

/**
 * The local adapter: DuckDB in-process. DuckDB cannot reach S3 here, so inputs are copied from the
 * object store into a local folder (kept while their objects are unchanged, so a contract check
 * right after a write reads the files just written) and outputs are written locally, then uploaded.
 */
export class DuckDbEngine implements QueryEngine {
  readonly dialect = 'duckdb' as const;
  private runDir?: string;
  private instance?: DuckDBInstance;
  private con?: DuckDBConnection;
  private readonly staged = new Map<string, Staged>();
  /** What each input name is defined as on the connection: a view, or a table holding the files `reader` names. */
  private readonly defined = new Map<string, { kind: 'view' | 'table'; source: string }>();
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly options: DuckDbEngineOptions,
  ) {}

  writeParquet(req: WriteRequest): Promise<WriteResult> {
    return this.serially(async () => {
      const con = await this.prepare(req.inputs);
      const outDir = join(this.runDir as string, 'out', String(++this.seq));
      await mkdir(join(outDir, '..'), { recursive: true });
      const started = Date.now();
      // Newlines around the SQL: a trailing comment must not swallow the closing parenthesis. Zstd
      // at level 1, not DuckDB's 3: the lake's columns are mostly hashed keys and coordinates,
      // which the higher level does not shrink (a day's facts, 980k rows: 72.2 MB against 72.6 MB),
      // but it took 1.2-1.3 CPU-s to write them against 0.8-1.0 s (docs/scale.md).
      const copy = `copy (\n${trimSql(req.sql)}\n) to ${str(outDir)} (format parquet, compression zstd, compression_level 1, file_size_bytes ${this.options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES}, filename_pattern 'part-{i}')`;
      const result = await this.run(con, copy, req.sql);
      const rows = Number(result.getRowsJS()[0]?.[0] ?? 0);
      const local = (await readdir(outDir)).filter((f) => f.endsWith('.parquet')).sort((a, b) => partNumber(a) - partNumber(b));
      // Uploaded beside the old objects under names no earlier write used, then the old ones
      // deleted: until the new partition is whole, readers see the old one whole.
      const writeId = randomBytes(4).toString('hex');
      const files: string[] = [];
      for (const [i, f] of local.entries()) {
        const key = `${req.target.prefix}part-${String(i).padStart(5, '0')}-${writeId}.parquet`;
        await this.store.upload(join(outDir, f), req.target.bucket, key, PARQUET);
        files.push(key);
      }
      await keepOnly(this.store, req.target, files);
      const written = await this.store.listAll(req.target.bucket, req.target.prefix);
      const before = this.staged.get(locKey(req.target));
      if (before?.dir) await rm(before.dir, { recursive: true, force: true });
      this.staged.set(locKey(req.target), { signature: signatureOf(written), files: local.map((f) => join(outDir, f)), dir: outDir });
      this.options.logger?.info({ target: locKey(req.target), rows, files: files.length, ms: Date.now() - started }, 'wrote parquet');
      return { rows, files };
    });
  }

  query<T = Record<string, unknown>>(req: QueryRequest): Promise<T[]> {
    return this.serially(async () => {
      const con = await this.prepare(req.inputs);
      return plainRows<T>(await this.run(con, trimSql(req.sql), req.sql));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.con?.closeSync();
    this.instance?.closeSync();
    if (this.runDir) await rm(this.runDir, { recursive: true, force: true });
  }

  /** Runs one request at a time: views are per connection and each request redefines them. */
  private serially<R>(fn: () => Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new Error('query engine is closed'));
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async connection(): Promise<DuckDBConnection> {
    if (this.con) return this.con;
    this.runDir = await makeScratchDir(resolve(this.options.workDir), 'duckdb');
    this.instance = await DuckDBInstance.create(':memory:', {
      memory_limit: this.options.memoryLimit,
      threads: String(this.options.threads),
      temp_directory: join(this.runDir, 'spill'),
      // Output row order carries no meaning here; not keeping it lets DuckDB stream with less memory.
      preserve_insertion_order: 'false',
      autoinstall_known_extensions: 'false',
    });
    this.con = await this.instance.connect();
    return this.con;
  }

  /** Copies the inputs to local files (unless already there and unchanged) and defines their views. */
  private async prepare(inputs: DatasetRef[]): Promise<DuckDBConnection> {
    const con = await this.connection();
    const names = new Set<string>();
    for (const input of inputs) {
      if (names.has(input.name)) throw new Error(`two inputs named ${input.name} in one request`);
      names.add(input.name);
      await this.define(con, input, await this.stage(input));
    }
    return con;
  }

  /**
   * Names an input's files on the connection. Parquet is a view, read again by each request. CSV
   * is parsed once into a temporary table, kept while its files are the same: a task may read its
   * input more than once (clean-stage its model, then the rows per source file for its manifest),
   * and parsing text is most of the cost (0.8 s of a 1M-row day of validated rows when they were
   * CSV, against a few milliseconds to count the table). Past memory_limit the table spills to the
   * temp folder.
   */
  private async define(con: DuckDBConnection, input: DatasetRef, files: string[]): Promise<void> {
    const name = ident(input.name);
    const source = reader(input, files);
    const kind = input.format === 'csv' ? 'table' : 'view';
    const before = this.defined.get(input.name);
    if (kind === 'table' && before?.kind === 'table' && before.source === source) return;
    if (before && before.kind !== kind) await this.run(con, `drop ${before.kind} ${name}`, `drop ${input.name}`);
    this.defined.delete(input.name);
    await this.run(con, `create or replace temp ${kind} ${name} as select * from ${source}`, `${kind} ${input.name}`);
    this.defined.set(input.name, { kind, source });
  }

  private async stage(input: DatasetRef): Promise<string[]> {
    const { bucket } = input.location;
    const objects = await listDataObjects(this.store, input.location, `input ${input.name}`);
    if (objects.length === 0) {
      throw new DataError(`input ${input.name}: no objects under ${locKey(input.location)}; has the task that writes it run for this date?`);
    }
    const signature = signatureOf(objects);
    const known = this.staged.get(locKey(input.location));
    if (known?.signature === signature) return known.files;
    if (known?.dir) await rm(known.dir, { recursive: true, force: true });
    const dir = join(this.runDir as string, 'in', String(++this.seq));
    const files = objects.map((o, i) => join(dir, `${String(i).padStart(5, '0')}-${basename(o.key)}`));
    for (let i = 0; i < objects.length; i += DOWNLOADS_IN_FLIGHT) {
      await Promise.all(objects.slice(i, i + DOWNLOADS_IN_FLIGHT).map((o, j) => this.store.download(bucket, o.key, files[i + j])));
    }
    if (input.format === 'parquet') await requireParquet(input, objects, files);
    this.staged.set(locKey(input.location), { signature, files, dir });
    this.options.logger?.debug({ input: input.name, location: locKey(input.location), files: files.length }, 'staged input');
    return files;
  }

  private async run(con: DuckDBConnection, sql: string, what: string) {
    try {
      return await con.runAndReadAll(sql);
    } catch (e) {
      const message = (e as Error).message;
      const context = `duckdb failed running "${firstLine(what)}": ${message}`;
      // Running out of memory or disk is the environment's doing, and worth a retry elsewhere.
      if (/out of memory|could not allocate|no space left/i.test(message)) throw new ExternalError(context, { cause: e });
      throw new Error(context, { cause: e });
    }
  }
}

function reader(input: DatasetRef, files: string[]): string {
  const list = `[${files.map(str).join(', ')}]`;
  if (input.format === 'parquet') return `read_parquet(${list})`;
  const columns = input.columns ? `, auto_detect = false, columns = {${input.columns.map((c) => `${str(c)}: 'VARCHAR'`).join(', ')}}` : ', all_varchar = true';
  return `read_csv(${list}, header = true, delim = ',', quote = '"', escape = '"'${columns})`;
}

/**
 * Fails with a DataError naming the object when a file of a Parquet input is not Parquet (its first
 * bytes are not `PAR1`), such as a layer's files written before it became Parquet (the validated
 * rows were gzip CSV until e6b49f8): rerunning the task that writes the layer for the day rewrites
 * them. DuckDB's own error would name a local copy and no cause.
 */
async function requireParquet(input: DatasetRef, objects: ReadonlyArray<{ key: string }>, files: readonly string[]): Promise<void> {
  for (const [i, file] of files.entries()) {
    const handle = await open(file, 'r');
    const head = Buffer.alloc(4);
    try {
      await handle.read(head, 0, 4, 0);
    } finally {
      await handle.close();
    }
    if (head.toString('latin1') !== PARQUET_MAGIC) {
      const url = `s3://${input.location.bucket}/${objects[i].key}`;
      throw new DataError(`input ${input.name}: ${url} is not a Parquet file (it starts with ${JSON.stringify(head.toString('latin1'))}); the files under ${locKey(input.location)} must be Parquet: rerun the task that writes them for this date`);
    }
  }
}

function signatureOf(objects: Array<{ key: string; size: number; etag?: string }>): string {
  return objects.map((o) => `${o.key} ${o.size} ${o.etag ?? ''}`).join('\n');
}

function trimSql(sql: string): string {
  return sql.trim().replace(/;\s*$/, '');
}

const partNumber = (f: string) => Number(/part-(\d+)/.exec(f)?.[1] ?? 0);
