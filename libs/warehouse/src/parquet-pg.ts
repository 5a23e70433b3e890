import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type { DuckDBConnection, DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';
import { makeScratchDir } from '@trips/core';
import type { Column } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import type { TripKeys } from './trip-filter';

export interface StagedRows {
  /** The rows the files hold (their Parquet footers say so). */
  rows: number;
  /**
   * The rows in PostgreSQL's binary COPY format (`copy … from stdin (format binary)`), the columns
   * in the order asked for, decoded from the files as the stream is read.
   */
  binary(onRows?: (rows: number) => void, keys?: KeyTap): Readable;
  /**
   * Queries of the staged rows run by DuckDB (`select` reads them as the relation `lake`), each
   * result in binary COPY form with `columns` in order, in memory: for results much smaller than
   * the rows (a load's aggregate groups). They run one after another on a DuckDB instance of their
   * own, started now, while the caller goes on; each promise is its query's result. Settled before
   * the files are disposed.
   */
  grouped(queries: ReadonlyArray<StagedQuery>): Array<Promise<Buffer[]>>;
  dispose(): Promise<void>;
}

/** A query of the staged rows (the relation `lake`), and the columns it yields, in order. */
export interface StagedQuery {
  select: string;
  columns: readonly Column[];
}

/** Where the keys and timestamps of the rows go as they are decoded: the columns named, an md5 key and a timestamp. */
export interface KeyTap {
  key: string;
  timestamp: string;
  into: TripKeys;
}

/**
 * The DuckDB bindings that @duckdb/node-api itself runs on: its chunks' raw vectors are read through
 * them, so they must be the same native module, whatever version of the API is installed. Loaded,
 * with the API, by the first load that stages files: every process using the warehouse imports
 * this module (`trips` commands, the questions), few load (DuckDB takes 90 ms to load).
 */
let loadedBindings: typeof DuckDBBindings | undefined;
const duckdbBindings = () => (loadedBindings ??= createRequire(require.resolve('@duckdb/node-api'))('@duckdb/node-bindings') as typeof DuckDBBindings);

/** Microseconds from 1970-01-01 (DuckDB's epoch) to 2000-01-01 (PostgreSQL's). */
const PG_EPOCH_US = 946_684_800_000_000;

/**
 * How a catalog column goes from DuckDB to PostgreSQL's binary form: DuckDB computes each part in a
 * fixed-width type whose bytes the encoder reads straight from the result's vectors (`widths`: bytes
 * per value; no JavaScript value per field), and PostgreSQL's bytes are those, big-endian:
 * - md5 keys (uuid): DuckDB's uuid of the text (16 bytes, stored as a 128-bit integer,
 *   little-endian, its top bit flipped), and whether the text is 32 characters long (a boolean,
 *   null where the text is). DuckDB's uuid also reads hyphens and braces, so a key is taken only if
 *   both hold: 32 hex digits (a text COPY into uuid would also have taken a hyphenated uuid);
 * - timestamps: microseconds since 2000-01-01, as bigint; bigint as it is;
 * - dates: days since 2000-01-01, as integer; integers and doubles as they are;
 * - text: UTF-8 bytes, read value by value.
 */
function parts(c: Column): { exprs: string[]; widths: number[]; kind: 'uuid' | 'int64' | 'int32' | 'float64' | 'text' } {
  const q = `"${c.name.replace(/"/g, '""')}"`;
  switch (c.type) {
    case 'varchar': {
      const text = `cast(${q} as varchar)`;
      if (!c.md5Key) return { exprs: [text], widths: [0], kind: 'text' };
      return { exprs: [`try_cast(${text} as uuid)`, `length(${text}) = 32`], widths: [16, 1], kind: 'uuid' };
    }
    case 'timestamp':
      return { exprs: [`epoch_us(cast(${q} as timestamp)) - ${PG_EPOCH_US}`], widths: [8], kind: 'int64' };
    case 'bigint':
      return { exprs: [`cast(${q} as bigint)`], widths: [8], kind: 'int64' };
    case 'date':
      return { exprs: [`cast(datediff('day', date '2000-01-01', cast(${q} as date)) as integer)`], widths: [4], kind: 'int32' };
    case 'integer':
      return { exprs: [`cast(${q} as integer)`], widths: [4], kind: 'int32' };
    case 'double':
      return { exprs: [`cast(${q} as double)`], widths: [8], kind: 'float64' };
    default:
      throw new Error(`no binary COPY form for column ${(c as Column).name} of type ${(c as Column).type}`);
  }
}

/** The first of an md5 key column's values that is not 32 hex digits, in the files `from` reads. */
const badKeySql = (c: Column, from: string) => {
  const text = `cast("${c.name.replace(/"/g, '""')}" as varchar)`;
  return `select ${text} as v from ${from} where ${text} is not null and not coalesce(length(${text}) = 32 and try_cast(${text} as uuid) is not null, false) limit 1`;
};

/** Thrown by encodeChunk at an md5 key that is not 32 hex digits: the stream then finds the value for its error. */
class BadKey extends Error {
  constructor(readonly column: number) {
    super('not an md5 key of 32 hex digits');
  }
}

const KIND_CODE = { uuid: 0, int64: 1, int32: 2, float64: 3, text: 4 } as const;

/** PostgreSQL's binary COPY header: signature, flags, header extension length. */
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);

/**
 * Prepares Parquet files of a bucket to be read as PostgreSQL binary COPY data with `columns` in
 * order (StagedRows.binary): the files are downloaded to a scratch folder, which DuckDB reads chunk
 * by chunk as the stream is read. Binary rather than CSV: PostgreSQL parses no text (980k fact rows
 * copied in 1.1 s against 3.2 s as CSV), and DuckDB formats none. Returns undefined when there is
 * no file.
 */
export async function stageParquet(store: ObjectStore, bucket: string, objects: ReadonlyArray<{ key: string }>, columns: readonly Column[], workDir: string, memoryLimit = '512MB'): Promise<StagedRows | undefined> {
  if (objects.length === 0) return undefined;
  const dir = await makeScratchDir(workDir, 'load');
  // One DuckDB instance reads the files for every use (the count, the COPY's rows, the groups), a
  // connection each: opening an instance took 10-25 ms, twice or three times per table loaded.
  let db: DuckDBInstance | undefined;
  // Queries of the files still running (grouped): awaited before the instance closes and the files go.
  const running: Array<Promise<unknown>> = [];
  const dispose = async () => {
    await Promise.allSettled(running);
    db?.closeSync();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const files: string[] = [];
    for (const [i, o] of objects.entries()) {
      const path = join(dir, `part-${i}.parquet`);
      await store.download(bucket, o.key, path);
      files.push(path);
    }
    const from = `read_parquet([${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}])`;
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: memoryLimit, threads: '2', temp_directory: join(dir, 'spill') });
    db = instance;
    const connect = () => instance.connect();
    const setup = await connect();
    try {
      await setup.run(`create view lake as select * from ${from}`);
    } finally {
      setup.closeSync();
    }
    const counting = await connect();
    let rows: number;
    try {
      rows = Number((await counting.runAndReadAll('select count(*)::bigint as n from lake')).getRowObjects()[0].n);
    } finally {
      counting.closeSync();
    }
    async function* encode(onRows?: (rows: number) => void, keys?: KeyTap): AsyncGenerator<Buffer> {
      const con = await connect();
      try {
        yield* encoded(con, 'lake', columns, onRows, keys);
      } finally {
        con.closeSync();
      }
    }
    const grouped = (queries: ReadonlyArray<StagedQuery>): Array<Promise<Buffer[]>> => {
      const connection = connect();
      const results: Array<Promise<Buffer[]>> = [];
      for (const q of queries) {
        const before = results[results.length - 1];
        results.push(
          (async () => {
            await before?.catch(() => undefined);
            const con = await connection;
            const out: Buffer[] = [];
            for await (const b of encoded(con, `(${q.select})`, q.columns)) out.push(b);
            return out;
          })(),
        );
      }
      const done = Promise.allSettled(results).then(async () => (await connection).closeSync());
      running.push(done.catch(() => undefined));
      // A result nobody awaits (the load failed first) is no unhandled rejection: the caller's error is the load's.
      for (const r of results) r.catch(() => undefined);
      return results;
    };
    return { rows, dispose, grouped, binary: (onRows, keys) => Readable.from(encode(onRows, keys), { objectMode: false }) };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/**
 * The rows of `relation` (the staged files, or a query of them) in binary COPY form with `columns`
 * in order: header, a buffer per DuckDB chunk, trailer.
 */
async function* encoded(con: DuckDBConnection, relation: string, columns: readonly Column[], onRows?: (rows: number) => void, keys?: KeyTap): AsyncGenerator<Buffer> {
  const forms = columns.map((c) => ({ ...parts(c), name: c.name }));
  const layout = rowLayout(forms);
  const tap = keys && { ...keys, at: tapAt(forms, layout, keys) };
  let fetching: Promise<DuckDBDataChunk | null> | undefined;
  try {
    yield HEADER;
    const result = await con.stream(`select ${forms.flatMap((f) => f.exprs).join(', ')} from ${relation}`);
    for (let chunk = await (fetching = result.fetchChunk()); chunk && chunk.rowCount > 0; chunk = await fetching) {
      // DuckDB makes the next chunk (on a thread of its own) while this one is encoded and sent.
      fetching = result.fetchChunk();
      const raw = rawVectors(layout, chunk);
      let buffer: Buffer;
      try {
        buffer = encodeChunk(layout, chunk, raw);
      } catch (e) {
        if (!(e instanceof BadKey)) throw e;
        await fetching.catch(() => undefined);
        const [bad] = (await con.runAndReadAll(badKeySql(columns[e.column], relation))).getRowObjects();
        throw new Error(`${layout.names[e.column]} is not an md5 key of 32 hex digits: ${String(bad?.v)}`);
      }
      yield buffer;
      if (tap) tapChunk(tap.at, tap.into, raw, chunk.rowCount);
      onRows?.(chunk.rowCount);
    }
    yield TRAILER;
  } finally {
    // A chunk still being made when the stream stops (an error, or COPY refusing) is waited for before the connection closes.
    await fetching?.catch(() => undefined);
  }
}

/** Where each column's values are in a chunk, and how it is written: the same for every chunk. */
interface RowLayout {
  names: string[];
  kinds: number[];
  /** Each column's first vector: a column of several parts (parts().exprs) has the next ones after it. */
  first: number[];
  /** Each vector's bytes per value when read as bytes (fixed-width kinds' first vector), else 0. */
  widths: number[];
  /** Bytes of a row but its texts: field count, and each field's length word and value (a fixed-width value is its first vector's bytes). */
  width: number;
  hasText: boolean;
}

function rowLayout(forms: ReadonlyArray<{ kind: keyof typeof KIND_CODE; name: string; widths: number[] }>): RowLayout {
  const kinds: number[] = forms.map((f) => KIND_CODE[f.kind]);
  const first: number[] = [];
  const widths: number[] = [];
  for (const f of forms) {
    first.push(widths.length);
    widths.push(...f.widths);
  }
  return { names: forms.map((f) => f.name), kinds, first, widths, width: forms.reduce((w, f) => w + 4 + f.widths[0], 2), hasText: kinds.includes(KIND_CODE.text) };
}

/**
 * A chunk's fixed-width vectors as DuckDB holds them: each one's bytes (little-endian) and validity
 * mask (bit r of the mask's bytes, least significant first, says row r is not null; no mask: no
 * nulls). Views of the chunk's memory, valid while the chunk is.
 */
interface RawVectors {
  data: Array<DataView | undefined>;
  valid: Array<Uint8Array | null>;
}

function rawVectors(layout: RowLayout, chunk: DuckDBDataChunk): RawVectors {
  const bindings = duckdbBindings();
  const n = chunk.rowCount;
  const data: Array<DataView | undefined> = [];
  const valid: Array<Uint8Array | null> = [];
  for (const [i, width] of layout.widths.entries()) {
    if (width === 0) {
      data.push(undefined);
      valid.push(null);
      continue;
    }
    const vector = bindings.data_chunk_get_vector(chunk.chunk, i);
    const bytes = bindings.vector_get_data(vector, n * width);
    data.push(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    valid.push((bindings.vector_get_validity(vector, Math.ceil(n / 64) * 8) as Uint8Array | null | undefined) ?? null);
  }
  return { data, valid };
}

const isNull = (valid: Uint8Array | null, r: number) => valid !== null && (valid[r >>> 3] & (1 << (r & 7))) === 0;

/**
 * One chunk's rows in binary COPY form: per row its field count, then per field its length (-1:
 * null) and bytes, big-endian. A uuid's bytes are DuckDB's 128-bit integer's, high half first, its
 * top bit flipped back.
 */
function encodeChunk(layout: RowLayout, chunk: DuckDBDataChunk, raw: RawVectors): Buffer {
  const { kinds, first } = layout;
  const n = chunk.rowCount;
  let texts: Array<Buffer | null>[] | undefined;
  let size = layout.width * n;
  if (layout.hasText) {
    texts = kinds.map((k, c) => {
      if (k !== KIND_CODE.text) return [];
      const vector = chunk.getColumnVector(first[c]);
      return Array.from({ length: n }, (_, r) => toBytes(vector.getItem(r)));
    });
    for (const column of texts) for (const b of column) size += b?.length ?? 0;
  }
  const buf = Buffer.allocUnsafe(size);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  for (let r = 0; r < n; r++) {
    view.setInt16(o, kinds.length);
    o += 2;
    for (let c = 0; c < kinds.length; c++) {
      const k = kinds[c];
      if (k === KIND_CODE.text) {
        const bytes = (texts as Array<Buffer | null>[])[c][r];
        if (bytes === null) {
          view.setInt32(o, -1);
          o += 4;
        } else {
          view.setInt32(o, bytes.length);
          bytes.copy(buf, o + 4);
          o += 4 + bytes.length;
        }
        continue;
      }
      const v = first[c];
      // A key's text is null where its length check is; where it is not, the key must be 32 hex digits.
      if (k === KIND_CODE.uuid ? isNull(raw.valid[v + 1], r) : isNull(raw.valid[v], r)) {
        view.setInt32(o, -1);
        o += 4;
        continue;
      }
      const d = raw.data[v] as DataView;
      switch (k) {
        case 0: {
          if (isNull(raw.valid[v], r) || (raw.data[v + 1] as DataView).getUint8(r) === 0) throw new BadKey(c);
          const p = r * 16;
          view.setInt32(o, 16);
          view.setUint32(o + 4, d.getUint32(p + 12, true) ^ 0x80000000);
          view.setUint32(o + 8, d.getUint32(p + 8, true));
          view.setUint32(o + 12, d.getUint32(p + 4, true));
          view.setUint32(o + 16, d.getUint32(p, true));
          o += 20;
          break;
        }
        case 2:
          view.setInt32(o, 4);
          view.setUint32(o + 4, d.getUint32(r * 4, true));
          o += 8;
          break;
        default: {
          // int64 and float64: the eight bytes, high word first.
          const p = r * 8;
          view.setInt32(o, 8);
          view.setUint32(o + 4, d.getUint32(p + 4, true));
          view.setUint32(o + 8, d.getUint32(p, true));
          o += 12;
        }
      }
    }
  }
  return buf.subarray(0, o);
}

/** The vector of a tap's key (a uuid) and of its timestamp (microseconds since 2000, int64). */
function tapAt(forms: ReadonlyArray<{ kind: string; name: string }>, layout: RowLayout, keys: KeyTap): { key: number; timestamp: number } {
  const at = (name: string, kind: string) => {
    const c = forms.findIndex((f) => f.name === name);
    if (c < 0 || forms[c].kind !== kind) throw new Error(`no ${kind} column ${name} among the staged columns to take the trips' keys from`);
    return layout.first[c];
  };
  return { key: at(keys.key, 'uuid'), timestamp: at(keys.timestamp, 'int64') };
}

/** Adds a chunk's keys (four big-endian words, as encodeChunk writes them) and timestamps to `into` (rows without either are left out: COPY refuses them). */
function tapChunk(at: { key: number; timestamp: number }, into: TripKeys, raw: RawVectors, n: number): void {
  const [keys, keyValid] = [raw.data[at.key] as DataView, raw.valid[at.key]];
  const [times, timeValid] = [raw.data[at.timestamp] as DataView, raw.valid[at.timestamp]];
  for (let r = 0; r < n; r++) {
    if (isNull(keyValid, r) || isNull(timeValid, r)) continue;
    const p = r * 16;
    const t = r * 8;
    into.push((keys.getUint32(p + 12, true) ^ 0x80000000) >>> 0, keys.getUint32(p + 8, true), keys.getUint32(p + 4, true), keys.getUint32(p, true), times.getInt32(t + 4, true) * 4294967296 + times.getUint32(t, true));
  }
}

const toBytes = (v: unknown): Buffer | null => (v === null ? null : Buffer.from(String(v), 'utf8'));
