import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbType, table } from '@trips/pipeline';

/**
 * Rows of the validated layer (source file, line number, then the five fields as text) as one
 * Parquet file of the layer's columns and types, as validate-raw writes it: for tests of the later
 * tasks that must not depend on the validate-raw app. The rows are appended as they are given, as
 * text, and each column is cast to its catalog type as the file is written.
 */
export async function validatedParquet(rows: ReadonlyArray<readonly string[]>): Promise<Buffer> {
  const columns = table('validated_trips').columns;
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  const dir = await mkdtemp(join(tmpdir(), 'trips-validated-'));
  try {
    await con.run(`create table v (${columns.map((c) => `"${c.name}" varchar`).join(', ')})`);
    const appender = await con.createAppender('v');
    for (const row of rows) {
      if (row.length !== columns.length) throw new Error(`a validated row has ${columns.length} fields, not ${row.length}: ${JSON.stringify(row)}`);
      for (const value of row) appender.appendVarchar(value);
      appender.endRow();
    }
    appender.closeSync();
    const path = join(dir, 'validated.parquet');
    const typed = columns.map((c) => `cast("${c.name}" as ${duckdbType(c.type)}) as "${c.name}"`).join(', ');
    await con.run(`copy (select ${typed} from v) to '${path}' (format parquet, compression zstd)`);
    return await readFile(path);
  } finally {
    con.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
