import { copyFile, lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ObjectStore } from '@trips/storage';
import { parquetToCsv } from './parquet-csv';

/** The store's one call the staging makes, from a local folder standing for the bucket (the S3 path is tested with the S3 server in the load's tests). */
const folderStore = (dir: string) => ({ download: (_bucket: string, key: string, path: string) => copyFile(join(dir, key), path) }) as unknown as ObjectStore;

async function readAll(rows: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of rows) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('parquetToCsv: the lake rows as CSV, decoded as they are read (DuckDB)', () => {
  let dir: string;
  let work: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parquet-csv-'));
    work = join(dir, 'work');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    // Two files, columns in another order than asked for, a timestamp with microseconds.
    await con.run(`copy (select i as n, 'r' || i as name, timestamp '2026-01-01 00:00:00.000001' + to_seconds(i) as ts from range(0, 150000) t(i)) to '${join(dir, 'a.parquet')}' (format parquet)`);
    await con.run(`copy (select i as n, 'r' || i as name, timestamp '2026-01-01' as ts from range(150000, 150003) t(i)) to '${join(dir, 'b.parquet')}' (format parquet)`);
    con.closeSync();
    db.closeSync();
    await writeFile(join(dir, 'broken.parquet'), 'PAR1 this is not a Parquet file PAR1');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const stage = (keys: string[]) => parquetToCsv(folderStore(dir), 'lake', keys.map((key) => ({ key })), ['ts', 'n', 'name'], work);

  it('hands the sink every row of every file, columns in the asked order, and counts them from the files', async () => {
    const staged = await stage(['a.parquet', 'b.parquet']);
    expect(staged?.rows).toBe(150003);
    let text = '';
    let piped = false;
    await staged?.pipeTo(async (rows) => {
      // A named pipe here (Linux, macOS): no CSV file is written.
      const [scratch] = await readdir(work);
      piped = (await lstat(join(work, scratch, 'rows.csv'))).isFIFO();
      text = await readAll(rows);
    });
    expect(piped).toBe(process.platform !== 'win32');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(150003);
    expect(lines[0]).toBe('2026-01-01 00:00:00.000001,0,r0');
    expect(lines[149999]).toBe('2026-01-02 17:39:59.000001,149999,r149999');
    expect(lines[150002]).toBe('2026-01-01 00:00:00.000000,150002,r150002');
    await staged?.dispose();
    expect(await readdir(work)).toEqual([]);
  });

  it('no files: nothing to stage', async () => {
    expect(await stage([])).toBeUndefined();
  });

  it("a sink that fails halfway fails the staging with the sink's error, and the writer stops", async () => {
    const staged = await stage(['a.parquet']);
    const failure = staged?.pipeTo(async (rows) => {
      for await (const _ of rows) throw new Error('COPY refused a row');
    });
    await expect(failure).rejects.toThrow('COPY refused a row');
    await staged?.dispose();
  });

  it("a sink that fails before reading fails the staging with the sink's error", async () => {
    const staged = await stage(['a.parquet']);
    const failure = staged?.pipeTo(async (rows) => {
      rows.destroy();
      throw new Error('no COPY today');
    });
    await expect(failure).rejects.toThrow('no COPY today');
    await staged?.dispose();
  });

  it("a writer that fails before it opens the pipe (a column the files lack) fails the staging with DuckDB's error; the waiting reader is let go", async () => {
    const staged = await parquetToCsv(folderStore(dir), 'lake', [{ key: 'a.parquet' }], ['ts', 'n', 'region'], work);
    let sinkDone!: (text: string) => void;
    const read = new Promise<string>((resolve) => (sinkDone = resolve));
    const failure = staged?.pipeTo(async (rows) => sinkDone(await readAll(rows)));
    await expect(failure).rejects.toThrow(/region/);
    // Without the release the reader would wait for a writer for ever (and this test time out).
    expect(await read).toBe('');
    await staged?.dispose();
  });

  it("a file DuckDB cannot read fails the staging with DuckDB's error; the waiting reader is let go", async () => {
    // The footer is read when the rows are counted: a broken file fails there, before any pipe.
    await expect(stage(['broken.parquet'])).rejects.toThrow(/parquet/i);
    // A file that goes bad after it was counted fails the writing: the sink sees an empty stream.
    const staged = await stage(['a.parquet']);
    await copyFile(join(dir, 'broken.parquet'), join(work, (await readdir(work))[0], 'part-0.parquet'));
    let read = '';
    const failure = staged?.pipeTo(async (rows) => {
      read = await readAll(rows);
    });
    await expect(failure).rejects.toThrow(/parquet/i);
    expect(read).toBe('');
    await staged?.dispose();
  });
});
