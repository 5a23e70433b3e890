import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DataError } from '@trips/core';
import type { ObjectStore } from './object-store';
import { readParquetSchema } from './parquet-footer';

/**
 * The ranged reads of a store, served from files on disk (the ranged GET itself is exercised
 * against the S3 server by the warehouse's and load-redshift's tests, which check every file they
 * load this way).
 */
function filesAsStore(dir: string): ObjectStore {
  return {
    getRange: async (_bucket: string, key: string, start: number, end: number) => (await readFile(join(dir, key))).subarray(start, end + 1),
  } as unknown as ObjectStore;
}

describe('the schema of a Parquet object, from its footer', () => {
  let store: ObjectStore;
  let work: string;
  const write = async (name: string, sql: string) => {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const path = join(work, name);
      await con.run(`copy (${sql}) to '${path}' (format parquet, compression snappy)`);
      return { key: name, size: (await stat(path)).size };
    } finally {
      con.closeSync();
      db.closeSync();
    }
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'parquet-footer-'));
    store = filesAsStore(work);
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('names every top-level column in file order with its physical and logical type, and the row count', async () => {
    const o = await write(
      'typed',
      `select 'k' || i as trip_id, cast(i as bigint) as n, cast(i as integer) as hour, i / 3.0 as share, timestamp '2018-05-28 09:03:40' + to_seconds(i) as trip_ts,
              date '2018-05-28' as day, [1, 2] as list, {'a': 1} as st, true as flag
       from range(1000) t(i)`,
    );
    expect(await readParquetSchema(store, 'lake', o)).toEqual({
      rows: 1000,
      columns: [
        { name: 'trip_id', physical: 'BYTE_ARRAY', logical: 'UTF8' },
        { name: 'n', physical: 'INT64', logical: 'INT_64' },
        { name: 'hour', physical: 'INT32', logical: 'INT_32' },
        { name: 'share', physical: 'DOUBLE', logical: undefined },
        { name: 'trip_ts', physical: 'INT64', logical: 'TIMESTAMP_MICROS' },
        { name: 'day', physical: 'INT32', logical: 'DATE' },
        { name: 'list', physical: 'GROUP', logical: 'LIST' },
        { name: 'st', physical: 'GROUP', logical: undefined },
        { name: 'flag', physical: 'BOOLEAN', logical: undefined },
      ],
    });
  });

  it('reads a file with no extension, as Athena names them, and refuses what is not Parquet, naming it', async () => {
    const o = await write('20181128_030000_00012_x7k2p_a3b1c2d4', 'select 1 as n');
    expect((await readParquetSchema(store, 'lake', o)).columns.map((c) => c.name)).toEqual(['n']);
    await writeFile(join(work, 'not-parquet.csv'), 'n\n1\n2\n3\n4\n5\n6\n');
    const csv = { key: 'not-parquet.csv', size: 14 };
    await expect(readParquetSchema(store, 'lake', csv)).rejects.toThrow(DataError);
    await expect(readParquetSchema(store, 'lake', csv)).rejects.toThrow('s3://lake/not-parquet.csv is not a Parquet file: it does not end with PAR1');
    await expect(readParquetSchema(store, 'lake', { key: 'not-parquet.csv', size: 6 })).rejects.toThrow('s3://lake/not-parquet.csv is not a Parquet file: 6 bytes');
  });
});
