import { DataError, type Location } from '@trips/core';
import type { ColumnType, TableDef } from '@trips/pipeline';
import { listDataObjects, readParquetSchema, type ObjectStore, type ParquetColumn, type ParquetSchema } from '@trips/storage';

/** A data file of a lake partition that a load takes. */
export interface LoadFile {
  key: string;
  size: number;
}

/** Which Parquet types hold a catalog column type the way the warehouses load it (Redshift COPY converts these). */
const ACCEPTED: Record<ColumnType, { test: (c: ParquetColumn) => boolean; says: string }> = {
  varchar: { test: (c) => c.physical === 'BYTE_ARRAY' && [undefined, 'UTF8', 'STRING'].includes(c.logical), says: 'BYTE_ARRAY (UTF8)' },
  bigint: { test: (c) => c.physical === 'INT64' && [undefined, 'INT_64'].includes(c.logical), says: 'INT64' },
  integer: { test: (c) => c.physical === 'INT32' && [undefined, 'INT_32'].includes(c.logical), says: 'INT32' },
  double: { test: (c) => c.physical === 'DOUBLE', says: 'DOUBLE' },
  // Athena's UNLOAD may write INT96 timestamps; DuckDB writes INT64 microseconds.
  timestamp: { test: (c) => c.physical === 'INT96' || (c.physical === 'INT64' && ['TIMESTAMP_MILLIS', 'TIMESTAMP_MICROS'].includes(c.logical ?? '')), says: 'INT64 TIMESTAMP_MILLIS|MICROS or INT96' },
  date: { test: (c) => c.physical === 'INT32' && c.logical === 'DATE', says: 'INT32 DATE' },
};

const typeOf = (c: ParquetColumn) => `${c.physical}${c.logical ? ` ${c.logical}` : ''}`;

/**
 * How a Parquet file's schema departs from its table's catalog entry: the columns' names and order
 * (Redshift's COPY maps Parquet columns to the table's by position, so a swap would load values
 * into the wrong columns), then their types.
 */
export function parquetProblems(table: TableDef, schema: ParquetSchema): string[] {
  const expected = table.columns.map((c) => c.name);
  const found = schema.columns.map((c) => c.name);
  if (expected.join(',') !== found.join(',')) return [`columns: expected ${expected.join(', ')}; found ${found.join(', ')}`];
  return table.columns.flatMap((c, i) => (ACCEPTED[c.type].test(schema.columns[i]) ? [] : [`${c.name} is ${typeOf(schema.columns[i])}, expected ${c.type} (${ACCEPTED[c.type].says})`]));
}

/**
 * The data files of a table's partition, each checked against the catalog from its Parquet footer
 * before anything is loaded; a file that departs is refused with a DataError naming it and how.
 */
export async function checkedLoadFiles(store: ObjectStore, table: TableDef, source: Location): Promise<LoadFile[]> {
  const files = await listDataObjects(store, source, `${table.id} for the warehouse`);
  const IN_FLIGHT = 8;
  for (let i = 0; i < files.length; i += IN_FLIGHT) {
    await Promise.all(
      files.slice(i, i + IN_FLIGHT).map(async (f) => {
        const problems = parquetProblems(table, await readParquetSchema(store, source.bucket, f));
        if (problems.length > 0) {
          throw new DataError(`s3://${source.bucket}/${f.key} does not match ${table.id} of the catalog, so it is not loaded (Redshift COPY maps Parquet columns by position): ${problems.join('; ')}`);
        }
      }),
    );
  }
  return files.map((f) => ({ key: f.key, size: f.size }));
}

/** A Redshift COPY manifest of the files (COPY from Parquet needs each file's content_length). */
export function copyManifest(bucket: string, files: readonly LoadFile[]): string {
  return `${JSON.stringify({ entries: files.map((f) => ({ url: `s3://${bucket}/${f.key}`, mandatory: true, meta: { content_length: f.size } })) }, null, 2)}\n`;
}
