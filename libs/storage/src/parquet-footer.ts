import { DataError } from '@trips/core';
import type { ObjectInfo, ObjectStore } from './object-store';

/**
 * The schema of a Parquet file, read from its footer alone (two ranged GETs: the last 8 bytes, then
 * the footer), so a loader can check what it is about to load without downloading the data.
 * The footer is a Thrift FileMetaData in the compact protocol; only the schema and the row count
 * are decoded, everything else skipped.
 */
export interface ParquetColumn {
  name: string;
  /** Physical type: BOOLEAN, INT32, INT64, INT96, FLOAT, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY. */
  physical: string;
  /** Logical annotation when there is one: STRING, DATE, TIMESTAMP_MILLIS, TIMESTAMP_MICROS, TIMESTAMP_NANOS, INT_8…INT_64, DECIMAL, … */
  logical?: string;
}

export interface ParquetSchema {
  rows: number;
  /** Top-level columns in file order. */
  columns: ParquetColumn[];
}

/** The four bytes a Parquet file begins and ends with. */
export const PARQUET_MAGIC = 'PAR1';
const PHYSICAL = ['BOOLEAN', 'INT32', 'INT64', 'INT96', 'FLOAT', 'DOUBLE', 'BYTE_ARRAY', 'FIXED_LEN_BYTE_ARRAY'];
/** ConvertedType, the older annotation (still written beside LogicalType). */
const CONVERTED = ['UTF8', 'MAP', 'MAP_KEY_VALUE', 'LIST', 'ENUM', 'DECIMAL', 'DATE', 'TIME_MILLIS', 'TIME_MICROS', 'TIMESTAMP_MILLIS', 'TIMESTAMP_MICROS', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64', 'INT_8', 'INT_16', 'INT_32', 'INT_64', 'JSON', 'BSON', 'INTERVAL'];

/** Reads the schema of the Parquet object `o` (its size from a listing) through ranged GETs. */
export async function readParquetSchema(store: ObjectStore, bucket: string, o: Pick<ObjectInfo, 'key' | 'size'>): Promise<ParquetSchema> {
  const where = `s3://${bucket}/${o.key}`;
  if (o.size < 12) throw new DataError(`${where} is not a Parquet file: ${o.size} bytes`);
  const tail = await store.getRange(bucket, o.key, o.size - 8, o.size - 1);
  if (tail.subarray(4).toString('latin1') !== PARQUET_MAGIC) throw new DataError(`${where} is not a Parquet file: it does not end with ${PARQUET_MAGIC}`);
  const length = tail.readUInt32LE(0);
  if (length <= 0 || length > o.size - 12) throw new DataError(`${where} is not a Parquet file: footer length ${length} in a ${o.size}-byte file`);
  const footer = await store.getRange(bucket, o.key, o.size - 8 - length, o.size - 9);
  try {
    return parseFooter(footer);
  } catch (e) {
    throw new DataError(`${where}: unreadable Parquet footer: ${(e as Error).message}`, { cause: e });
  }
}

/** Decodes a FileMetaData footer: its schema's top-level columns and its row count. */
export function parseFooter(footer: Buffer): ParquetSchema {
  const r = new CompactReader(footer);
  let rows = 0;
  const elements: Array<{ name: string; type?: number; children?: number; converted?: number; logical?: string }> = [];
  r.struct((id, type) => {
    if (id === 2 && type === T.LIST) {
      const { size } = r.listHeader();
      for (let i = 0; i < size; i++) elements.push(readSchemaElement(r));
    } else if (id === 3 && type === T.I64) rows = Number(r.varint64());
    else r.skip(type);
  });
  if (elements.length === 0) throw new Error('no schema');
  // elements[0] is the root; its children are the top-level columns, each followed by its own subtree.
  const columns: ParquetColumn[] = [];
  let i = 1;
  const skipSubtree = (): void => {
    const e = elements[i++];
    for (let c = 0; c < (e.children ?? 0); c++) skipSubtree();
  };
  for (let c = 0; c < (elements[0].children ?? 0); c++) {
    const e = elements[i];
    columns.push({
      name: e.name,
      physical: e.type === undefined ? 'GROUP' : (PHYSICAL[e.type] ?? `TYPE_${e.type}`),
      logical: e.logical ?? (e.converted === undefined ? undefined : (CONVERTED[e.converted] ?? `CONVERTED_${e.converted}`)),
    });
    skipSubtree();
  }
  return { rows, columns };
}

function readSchemaElement(r: CompactReader): { name: string; type?: number; children?: number; converted?: number; logical?: string } {
  const e: { name: string; type?: number; children?: number; converted?: number; logical?: string } = { name: '' };
  r.struct((id, type) => {
    if (id === 1 && type === T.I32) e.type = r.int();
    else if (id === 4 && type === T.BINARY) e.name = r.binary().toString('utf8');
    else if (id === 5 && type === T.I32) e.children = r.int();
    else if (id === 6 && type === T.I32) e.converted = r.int();
    else if (id === 10 && type === T.STRUCT) e.logical = readLogicalType(r);
    else r.skip(type);
  });
  return e;
}

/** LogicalType is a union: the field that is set names it (TIMESTAMP carries its unit). */
function readLogicalType(r: CompactReader): string | undefined {
  const NAMES: Record<number, string> = { 1: 'STRING', 2: 'MAP', 3: 'LIST', 4: 'ENUM', 5: 'DECIMAL', 6: 'DATE', 7: 'TIME', 8: 'TIMESTAMP', 10: 'INTEGER', 11: 'UNKNOWN', 12: 'JSON', 13: 'BSON', 14: 'UUID', 15: 'FLOAT16' };
  let name: string | undefined;
  r.struct((id, type) => {
    name = NAMES[id] ?? `LOGICAL_${id}`;
    if (id === 8 && type === T.STRUCT) {
      // TimestampType { 1: isAdjustedToUTC, 2: unit (union: 1 MILLIS, 2 MICROS, 3 NANOS) }
      r.struct((tid, ttype) => {
        if (tid === 2 && ttype === T.STRUCT) r.struct((uid, utype) => ((name = `TIMESTAMP_${['', 'MILLIS', 'MICROS', 'NANOS'][uid] ?? uid}`), r.skip(utype)));
        else r.skip(ttype);
      });
    } else if (id === 10 && type === T.STRUCT) {
      // IntType { 1: bitWidth (i8), 2: isSigned }
      let bits = 0;
      let signed = true;
      r.struct((iid, itype) => {
        if (iid === 1 && itype === T.BYTE) bits = r.byte();
        else if (iid === 2 && (itype === T.TRUE || itype === T.FALSE)) signed = itype === T.TRUE;
        else r.skip(itype);
      });
      name = `${signed ? 'INT' : 'UINT'}_${bits}`;
    } else r.skip(type);
  });
  return name;
}

/** Compact-protocol type ids. */
const T = { STOP: 0, TRUE: 1, FALSE: 2, BYTE: 3, I16: 4, I32: 5, I64: 6, DOUBLE: 7, BINARY: 8, LIST: 9, SET: 10, MAP: 11, STRUCT: 12 } as const;

/** A reader of Thrift's compact protocol, enough to walk any struct and skip what it does not need. */
class CompactReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  /** Reads a struct's fields until STOP, calling `field` with each field id and type; `field` must consume the value. */
  struct(field: (id: number, type: number) => void): void {
    let last = 0;
    for (;;) {
      const head = this.u8();
      const type = head & 0x0f;
      if (type === T.STOP) return;
      const delta = head >> 4;
      const id = delta === 0 ? this.zigzag(this.varint()) : last + delta;
      last = id;
      field(id, type);
    }
  }

  listHeader(): { size: number; type: number } {
    const head = this.u8();
    const size = head >> 4 === 15 ? this.varint() : head >> 4;
    return { size, type: head & 0x0f };
  }

  int(): number {
    return this.zigzag(this.varint());
  }

  byte(): number {
    const b = this.u8();
    return b > 127 ? b - 256 : b;
  }

  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    return (result >> 1n) ^ -(result & 1n);
  }

  binary(): Buffer {
    const n = this.varint();
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips a value of the given type (in a struct field; list elements of booleans are a byte each). */
  skip(type: number, inList = false): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        if (inList) this.u8();
        return;
      case T.BYTE:
        this.u8();
        return;
      case T.I16:
      case T.I32:
      case T.I64:
        this.varint64();
        return;
      case T.DOUBLE:
        this.need(8);
        this.pos += 8;
        return;
      case T.BINARY:
        this.binary();
        return;
      case T.LIST:
      case T.SET: {
        const { size, type: element } = this.listHeader();
        for (let i = 0; i < size; i++) this.skip(element, true);
        return;
      }
      case T.MAP: {
        const size = this.varint();
        if (size === 0) return;
        const kinds = this.u8();
        for (let i = 0; i < size; i++) {
          this.skip(kinds >> 4, true);
          this.skip(kinds & 0x0f, true);
        }
        return;
      }
      case T.STRUCT:
        this.struct((_, t) => this.skip(t));
        return;
      default:
        throw new Error(`unknown compact type ${type} at byte ${this.pos}`);
    }
  }

  private varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 49) throw new Error(`varint too long at byte ${this.pos}`);
    }
  }

  private zigzag(n: number): number {
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error(`footer ends early (byte ${this.pos} + ${n} of ${this.buf.length})`);
  }
}
