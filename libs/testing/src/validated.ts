import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { table } from '@trips/pipeline';

/**
 * Rows of the validated layer (source file, line number, then the five fields as text) as one
 * Parquet file of the layer's columns and types, as validate-raw writes it: for tests of the later
 * tasks that must not depend on the validate-raw app. The rows are appended as they are given.
 */
export async function validatedParquet(rows: ReadonlyArray<readonly string[]>): Promise<Buffer> {
  const columns = table('validated_trips').columns;
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  const dir = await mkdtemp(join(tmpdir(), 'trips-validated-'));
  try {
    await con.run(`create table v (${columns.map((c) => `"${c.name}" ${c.type === 'bigint' ? 'bigint' : 'varchar'}`).join(', ')})`);
    const appender = await con.createAppender('v');
    for (const row of rows) {
      if (row.length !== columns.length) throw new Error(`a validated row has ${columns.length} fields, not ${row.length}: ${JSON.stringify(row)}`);
      columns.forEach((c, i) => (c.type === 'bigint' ? appender.appendBigInt(BigInt(row[i])) : appender.appendVarchar(row[i])));
      appender.endRow();
    }
    appender.closeSync();
    const path = join(dir, 'validated.parquet');
    await con.run(`copy v to '${path}' (format parquet, compression zstd)`);
    return await readFile(path);
  } finally {
    con.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
