import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbType, tableOfLayer } from '@trips/pipeline';

const str = (s: string) => `'${s.replace(/'/g, "''")}'`;

export interface ValidatedParquetOptions {
  /** DuckDB's memory_limit for the conversion; past it DuckDB spills to `spillDir`. */
  memoryLimit?: string;
  threads?: number;
  spillDir: string;
}

/**
 * Writes the validated rows of a file as the validated layer's Parquet (the catalog's columns and
 * types, Zstandard level 1, the rows in file order), from the CSV validateFile wrote. DuckDB parses
 * the CSV on its threads and writes each column once: the clean model then reads Parquet instead of
 * parsing gzip text, and the file's key, the same in every row, is stored once per row group. The
 * CSV is read as strictly as validate-raw wrote it (its header, the catalog's columns in order, RFC
 * 4180 quoting): a row it cannot read fails the conversion, and the rows written must be the rows
 * passed, so no row is lost on the way. One DuckDB instance serves the task's files (started at
 * the first: loading DuckDB takes about 90 ms).
 */
export class ValidatedParquet {
  private db?: Promise<{ instance: DuckDBInstance; con: DuckDBConnection }>;

  constructor(private readonly options: ValidatedParquetOptions) {}

  private open() {
    return (this.db ??= (async () => {
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const instance = await DuckDBInstance.create(':memory:', {
        memory_limit: this.options.memoryLimit ?? '512MB',
        threads: String(this.options.threads ?? 2),
        temp_directory: join(this.options.spillDir, 'duckdb-spill'),
      });
      return { instance, con: await instance.connect() };
    })());
  }

  /**
   * Converts `csvPath` to `parquetPath`: the validated rows of the raw object `rawKey` (named in
   * errors), `rows` of them (the file's passed rows).
   */
  async convert(rawKey: string, csvPath: string, parquetPath: string, rows: number): Promise<void> {
    const { con } = await this.open();
    const columns = tableOfLayer('validated').columns.map((c) => `${str(c.name)}: '${duckdbType(c.type)}'`).join(', ');
    const source = `read_csv(${str(csvPath)}, header = true, delim = ',', quote = '"', escape = '"', auto_detect = false, strict_mode = true, columns = {${columns}})`;
    let written: number;
    try {
      const result = await con.runAndReadAll(`copy (select * from ${source}) to ${str(parquetPath)} (format parquet, compression zstd, compression_level 1)`);
      written = Number(result.getRows()[0]?.[0] ?? -1);
    } catch (e) {
      throw new Error(`validate-raw: writing the validated rows of ${rawKey} as Parquet failed: ${(e as Error).message}`, { cause: e });
    }
    if (written !== rows) throw new Error(`validate-raw: the validated rows of ${rawKey} came to ${written} Parquet rows, not the ${rows} that passed`);
  }

  async close(): Promise<void> {
    if (!this.db) return;
    const { instance, con } = await this.db;
    this.db = undefined;
    con.closeSync();
    instance.closeSync();
  }
}
