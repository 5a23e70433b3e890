import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeScratchDir } from '@trips/core';
import type { ObjectStore } from '@trips/storage';

export interface StagedCsv {
  path: string;
  rows: number;
  dispose(): Promise<void>;
}

/**
 * Turns Parquet files of a bucket into one headerless CSV file with `columns` in order: the files
 * are downloaded to a scratch folder and read by DuckDB, which streams them to CSV. Returns
 * undefined when there is no file.
 */
export async function parquetToCsv(store: ObjectStore, bucket: string, objects: ReadonlyArray<{ key: string }>, columns: string[], workDir: string, memoryLimit = '512MB'): Promise<StagedCsv | undefined> {
  if (objects.length === 0) return undefined;
  const dir = await makeScratchDir(workDir, 'load');
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const files: string[] = [];
    for (const [i, o] of objects.entries()) {
      const path = join(dir, `part-${i}.parquet`);
      await store.download(bucket, o.key, path);
      files.push(path);
    }
    const csv = join(dir, 'rows.csv');
    const db = await DuckDBInstance.create(':memory:', { memory_limit: memoryLimit, threads: '2', temp_directory: join(dir, 'spill') });
    const con = await db.connect();
    try {
      const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
      const select = columns.map((c) => `"${c}"`).join(', ');
      await con.run(`copy (select ${select} from read_parquet([${list}])) to '${csv.replace(/'/g, "''")}' (format csv, header false, timestampformat '%Y-%m-%d %H:%M:%S.%f')`);
      const count = await con.runAndReadAll(`select count(*)::bigint as n from read_parquet([${list}])`);
      const rows = Number(count.getRowObjects()[0].n);
      return { path: csv, rows, dispose };
    } finally {
      con.closeSync();
      db.closeSync();
    }
  } catch (e) {
    await dispose();
    throw e;
  }
}
