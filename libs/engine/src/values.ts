import { DuckDBTypeId, type DuckDBResultReader } from '@duckdb/node-api';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function dateText(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

function timestampText(d: Date): string {
  return `${dateText(d)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** One value as the port promises it (see QueryEngine.query). */
export function plainValue(value: unknown, typeId: DuckDBTypeId): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (value instanceof Date) return typeId === DuckDBTypeId.DATE ? dateText(value) : timestampText(value);
  if (Array.isArray(value)) return value.map((v) => plainValue(v, DuckDBTypeId.ANY));
  return value;
}

/** The rows of a result as plain objects, columns in result order. */
export function plainRows<T>(result: DuckDBResultReader): T[] {
  const names = result.columnNames();
  const types = result.columnTypes().map((t) => t.typeId);
  return result.getRowsJS().map((row) => {
    const out: Record<string, unknown> = {};
    names.forEach((n, i) => (out[n] = plainValue(row[i], types[i])));
    return out as T;
  });
}
