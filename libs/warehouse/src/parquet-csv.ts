import { execFile } from 'node:child_process';
import { createReadStream, constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeScratchDir } from '@trips/core';
import type { ObjectStore } from '@trips/storage';

export interface StagedCsv {
  /** The rows the files hold (their Parquet footers say so). */
  rows: number;
  /**
   * Hands `sink` the rows as headerless CSV, `columns` in order, and settles when both the sink and
   * the writing are done; the first failure of either rejects. Where the system has named pipes the
   * CSV goes through one: DuckDB writes as the sink reads, so the decoding overlaps the sink's work
   * (PostgreSQL's COPY) and no CSV file is written. Elsewhere a CSV file is written first.
   */
  pipeTo(sink: (rows: Readable) => Promise<void>): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Prepares Parquet files of a bucket to be read as one headerless CSV stream with `columns` in
 * order (StagedCsv.pipeTo): the files are downloaded to a scratch folder, which DuckDB reads.
 * Returns undefined when there is no file.
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
    const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ');
    const duckdb = async <T>(work: (con: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>): Promise<T> => {
      const db = await DuckDBInstance.create(':memory:', { memory_limit: memoryLimit, threads: '2', temp_directory: join(dir, 'spill') });
      const con = await db.connect();
      try {
        return await work(con);
      } finally {
        con.closeSync();
        db.closeSync();
      }
    };
    const rows = await duckdb(async (con) => Number((await con.runAndReadAll(`select count(*)::bigint as n from read_parquet([${list}])`)).getRowObjects()[0].n));
    const select = columns.map((c) => `"${c}"`).join(', ');
    const writeCsv = (path: string) =>
      duckdb((con) => con.run(`copy (select ${select} from read_parquet([${list}])) to '${path.replace(/'/g, "''")}' (format csv, header false, timestampformat '%Y-%m-%d %H:%M:%S.%f')`));
    const csv = join(dir, 'rows.csv');
    return {
      rows,
      dispose,
      async pipeTo(sink) {
        if (!(await makeFifo(csv))) {
          await writeCsv(csv);
          return sink(createReadStream(csv));
        }
        // Opening a named pipe waits for the other end: the reader's open is under way first, and
        // resolves once DuckDB opens the pipe to write.
        const reader = open(csv, 'r');
        const written = writeCsv(csv).catch(async (e: unknown) => {
          await releaseReader(csv, reader);
          throw e;
        });
        const read = reader.then((h) => sink(h.createReadStream()));
        // A failing sink closes the pipe's reading end: DuckDB's next write fails, and `written` with it.
        await Promise.all([read, written]);
      },
    };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** Makes a named pipe at `path`; false where the system has none (the caller writes a file there instead). */
async function makeFifo(path: string): Promise<boolean> {
  if (process.platform === 'win32') return false;
  try {
    await promisify(execFile)('mkfifo', ['-m', '600', path]);
    return true;
  } catch {
    return false;
  }
}

/**
 * When the writer failed before opening the pipe, the reader's open would wait for ever (and hold
 * the process open): opening the writing end and closing it again lets it through, to an empty
 * stream. A non-blocking open succeeds only once the reader is waiting, so it is retried until then.
 */
async function releaseReader(path: string, reader: Promise<FileHandle>): Promise<void> {
  let settled = false;
  reader.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    try {
      await (await open(path, constants.O_WRONLY | constants.O_NONBLOCK)).close();
      return;
    } catch {
      await delay(5);
    }
  }
}
