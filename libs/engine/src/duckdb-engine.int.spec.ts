import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { baseSettings, ConfigError, DataError, loadConfig } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';
import { DuckDbEngine } from './duckdb-engine';
import { createEngine, engineSettings } from './factory';
import type { DatasetRef } from './port';

const BUCKET = 'lake';
const csvInput = (prefix: string, columns?: string[]): DatasetRef => ({ name: 'people', location: { bucket: BUCKET, prefix }, format: 'csv', columns });

describe('DuckDB query engine against a real S3 server', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let engine: DuckDbEngine;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    store = s3.store();
  });
  afterAll(() => s3.close());
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'trips-engine-'));
    engine = new DuckDbEngine(store, { workDir: work, memoryLimit: '256MB', threads: 1 });
  });
  afterEach(async () => {
    await engine.close();
    await rm(work, { recursive: true, force: true });
  });

  it('writes a query over CSV objects as Parquet, replacing what was under the target', async () => {
    await store.put(BUCKET, 'in/a/part1.csv', 'name,age,joined\n"Smith, Ann",41,2018-05-28 09:03:40\nBob,7,2018-12-31 23:59:59\n');
    await store.put(BUCKET, 'in/a/part2.csv', 'name,age,joined\n');
    await store.put(BUCKET, 'out/a/stale-file.parquet', 'left by an earlier run');

    const result = await engine.writeParquet({
      sql: 'select name, cast(age as bigint) as age, cast(joined as timestamp) as joined_ts, cast(joined as date) as joined_date from people -- trailing comment',
      inputs: [csvInput('in/a/', ['name', 'age', 'joined'])],
      target: { bucket: BUCKET, prefix: 'out/a/' },
    });

    expect(result).toEqual({ rows: 2, files: [expect.stringMatching(/^out\/a\/part-00000-[0-9a-f]{8}\.parquet$/)] });
    expect((await store.listAll(BUCKET, 'out/a/')).map((o) => o.key)).toEqual(result.files);
    const rows = await engine.query({
      sql: 'select * from written order by age',
      inputs: [{ name: 'written', location: { bucket: BUCKET, prefix: 'out/a/' }, format: 'parquet' }],
    });
    expect(rows).toEqual([
      { name: 'Bob', age: 7, joined_ts: '2018-12-31 23:59:59.000', joined_date: '2018-12-31' },
      { name: 'Smith, Ann', age: 41, joined_ts: '2018-05-28 09:03:40.000', joined_date: '2018-05-28' },
    ]);
  });

  it('reads gzip CSV objects as it reads plain ones, and writes Zstandard Parquet', async () => {
    await store.put(BUCKET, 'in/z/a.csv.gz', gzipSync('name,age\nAnn,41\n'));
    await store.put(BUCKET, 'in/z/b.csv', 'name,age\nBob,7\n');
    const result = await engine.writeParquet({ sql: 'select name, cast(age as bigint) as age from people', inputs: [csvInput('in/z/')], target: { bucket: BUCKET, prefix: 'out/z/' } });
    expect(result.rows).toBe(2);
    const local = join(work, 'z.parquet');
    await store.download(BUCKET, result.files[0], local);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const meta = await con.runAndReadAll(`select distinct compression from parquet_metadata('${local}')`);
      expect(meta.getRows()).toEqual([['ZSTD']]);
      expect((await con.runAndReadAll(`select name, age from read_parquet('${local}') order by age`)).getRows()).toEqual([['Bob', 7n], ['Ann', 41n]]);
    } finally {
      con.closeSync();
      db.closeSync();
    }
  });

  it('reads every CSV column as text, keeping leading zeros and spaces', async () => {
    await store.put(BUCKET, 'in/b/x.csv', 'code,label\n007, padded \n');
    const rows = await engine.query({ sql: 'select code, label, typeof(code) as t from people', inputs: [csvInput('in/b/')] });
    expect(rows).toEqual([{ code: '007', label: ' padded ', t: 'VARCHAR' }]);
  });

  it('splits a large result into several files that together hold every row', async () => {
    await store.put(BUCKET, 'in/c/x.csv', 'n\n1\n');
    const small = new DuckDbEngine(store, { workDir: work, memoryLimit: '256MB', threads: 1, maxFileBytes: 64 * 1024 });
    try {
      const result = await small.writeParquet({
        sql: "select range as n, md5(cast(range as varchar)) as h from range(200000) where (select count(*) from people) = 1",
        inputs: [csvInput('in/c/')],
        target: { bucket: BUCKET, prefix: 'out/c/' },
      });
      expect(result.rows).toBe(200000);
      expect(result.files.length).toBeGreaterThan(1);
      expect(result.files[1]).toMatch(/^out\/c\/part-00001-[0-9a-f]{8}\.parquet$/);
      const [agg] = await engine.query<{ n: number; total: number }>({
        sql: 'select count(*) as n, sum(n) as total from c',
        inputs: [{ name: 'c', location: { bucket: BUCKET, prefix: 'out/c/' }, format: 'parquet' }],
      });
      expect(agg).toEqual({ n: 200000, total: (199999 * 200000) / 2 });
    } finally {
      await small.close();
    }
  });

  it('writes a Parquet file with the schema even when the result is empty', async () => {
    await store.put(BUCKET, 'in/d/x.csv', 'n\n1\n');
    const result = await engine.writeParquet({ sql: 'select cast(n as integer) as n from people where false', inputs: [csvInput('in/d/')], target: { bucket: BUCKET, prefix: 'out/d/' } });
    expect(result).toEqual({ rows: 0, files: [expect.stringMatching(/^out\/d\/part-00000-[0-9a-f]{8}\.parquet$/)] });
    const rows = await engine.query({ sql: 'select typeof(n) as t, count(*) as c from d group by all', inputs: [{ name: 'd', location: { bucket: BUCKET, prefix: 'out/d/' }, format: 'parquet' }] });
    expect(rows).toEqual([]);
  });

  it('reads an input again when its objects change between requests', async () => {
    await store.put(BUCKET, 'in/e/x.csv', 'n\n1\n');
    const sql = 'select count(*) as c from people';
    expect(await engine.query({ sql, inputs: [csvInput('in/e/')] })).toEqual([{ c: 1 }]);
    await store.put(BUCKET, 'in/e/x.csv', 'n\n1\n2\n3\n');
    expect(await engine.query({ sql, inputs: [csvInput('in/e/')] })).toEqual([{ c: 3 }]);
  });

  it('parses a CSV input once for the requests that read it, and gives a name used for CSV, then Parquet, then CSV the rows of each', async () => {
    await store.put(BUCKET, 'in/t/x.csv', 'n\n1\n2\n');
    await store.put(BUCKET, 'in/u/x.csv', 'n\n5\n6\n7\n');
    const csv = (prefix: string) => ({ ...csvInput(prefix), name: 't' });
    const sum = 'select count(*) as c, sum(cast(n as integer)) as s from t';
    const tables = () => engine.query<{ table_name: string; temporary: boolean }>({ sql: "select table_name, temporary from duckdb_tables() where table_name = 't'", inputs: [] });
    expect(await engine.query({ sql: sum, inputs: [csv('in/t/')] })).toEqual([{ c: 2, s: 3 }]);
    expect(await tables()).toEqual([{ table_name: 't', temporary: true }]);
    expect(await engine.query({ sql: sum, inputs: [csv('in/t/')] })).toEqual([{ c: 2, s: 3 }]);
    // Another location under the same name: its own rows.
    expect(await engine.query({ sql: sum, inputs: [csv('in/u/')] })).toEqual([{ c: 3, s: 18 }]);
    await engine.writeParquet({ sql: 'select 40 as n union all select 2', inputs: [], target: { bucket: BUCKET, prefix: 'out/t/' } });
    expect(await engine.query({ sql: sum, inputs: [{ name: 't', location: { bucket: BUCKET, prefix: 'out/t/' }, format: 'parquet' }] })).toEqual([{ c: 2, s: 42 }]);
    expect(await tables()).toEqual([]);
    expect(await engine.query({ sql: sum, inputs: [csv('in/t/')] })).toEqual([{ c: 2, s: 3 }]);
  });

  it('returns bigints beyond 2^53 as decimal text and other numbers as numbers', async () => {
    await store.put(BUCKET, 'in/f/x.csv', 'n\n1\n');
    const [row] = await engine.query({ sql: 'select 9007199254740993::bigint as big, 42::bigint as small, 1.5::double as d, null as nothing from people', inputs: [csvInput('in/f/')] });
    expect(row).toEqual({ big: '9007199254740993', small: 42, d: 1.5, nothing: null });
  });

  it('refuses an input location with no objects, naming it', async () => {
    const failure = engine.query({ sql: 'select 1', inputs: [csvInput('in/nothing-here/')] });
    await expect(failure).rejects.toThrow(DataError);
    await expect(engine.query({ sql: 'select 1', inputs: [csvInput('in/nothing-here/')] })).rejects.toThrow('input people: no objects under s3://lake/in/nothing-here/');
  });

  it('refuses a Parquet input holding a file that is not Parquet (a layer written before it became Parquet), naming the object', async () => {
    await engine.writeParquet({ sql: "select 'Ann' as name", inputs: [], target: { bucket: BUCKET, prefix: 'in/mixed/' } });
    await store.put(BUCKET, 'in/mixed/old.csv.gz', gzipSync('name\nBob\n'));
    const failure = engine.query({ sql: 'select count(*) as n from people', inputs: [{ name: 'people', location: { bucket: BUCKET, prefix: 'in/mixed/' }, format: 'parquet' }] });
    await expect(failure).rejects.toThrow(DataError);
    await expect(failure).rejects.toThrow(/^input people: s3:\/\/lake\/in\/mixed\/old\.csv\.gz is not a Parquet file \(it starts with "\\u001f.*\); the files under s3:\/\/lake\/in\/mixed\/ must be Parquet: rerun the task that writes them for this date$/);
  });

  it('refuses an input holding an object Athena would skip as hidden (_ or . first), instead of reading or dropping it silently', async () => {
    await store.put(BUCKET, 'in/hidden/a.csv', 'n\n1\n');
    await store.put(BUCKET, 'in/hidden/_b.csv', 'n\n2\n');
    await expect(engine.query({ sql: 'select count(*) as n from people', inputs: [csvInput('in/hidden/')] })).rejects.toThrow(
      "input people: s3://lake/in/hidden/_b.csv has a name Athena skips as hidden (it starts with _ or .); the pipeline writes no such names: remove or rename it",
    );
  });

  it('names the failing SQL and leaves the target untouched when a query fails', async () => {
    await store.put(BUCKET, 'in/g/x.csv', 'n\nnot-a-number\n');
    await store.put(BUCKET, 'out/g/keep.parquet', 'earlier output');
    const failure = engine.writeParquet({ sql: 'select cast(n as integer) as n from people', inputs: [csvInput('in/g/')], target: { bucket: BUCKET, prefix: 'out/g/' } });
    await expect(failure).rejects.toThrow(/duckdb failed running "select cast\(n as integer\) as n from people": Conversion Error/);
    expect((await store.listAll(BUCKET, 'out/g/')).map((o) => o.key)).toEqual(['out/g/keep.parquet']);
  });

  it('keeps the previous partition whole when the upload of a new one fails midway, and replaces it on the rerun', async () => {
    await store.put(BUCKET, 'in/r/x.csv', 'n\n1\n');
    const sql = "select range as n, md5(cast(range as varchar)) as h from range(300000) where (select count(*) from people) = 1";
    const write = (e: DuckDbEngine) => e.writeParquet({ sql, inputs: [csvInput('in/r/')], target: { bucket: BUCKET, prefix: 'out/r/' } });
    const first = new DuckDbEngine(store, { workDir: work, memoryLimit: '256MB', threads: 1, maxFileBytes: 64 * 1024 });
    const before = await write(first).finally(() => first.close());
    expect(before.files.length).toBeGreaterThan(1);
    // A store whose second upload fails: the network, the disk, a killed task.
    let uploads = 0;
    const flaky = Object.create(store) as ObjectStore;
    flaky.upload = async (...args: Parameters<ObjectStore['upload']>) => {
      if (++uploads === 2) throw new Error('connection reset');
      return store.upload(...args);
    };
    const failing = new DuckDbEngine(flaky, { workDir: work, memoryLimit: '256MB', threads: 1, maxFileBytes: 64 * 1024 });
    await expect(write(failing).finally(() => failing.close())).rejects.toThrow('connection reset');
    // Readers still see the old partition whole (the new file that made it is beside it, under a name no read of a whole write lists).
    const keys = (await store.listAll(BUCKET, 'out/r/')).map((o) => o.key);
    expect(keys.filter((k) => before.files.includes(k))).toEqual(before.files);
    const again = new DuckDbEngine(store, { workDir: work, memoryLimit: '256MB', threads: 1, maxFileBytes: 64 * 1024 });
    const after = await write(again).finally(() => again.close());
    expect((await store.listAll(BUCKET, 'out/r/')).map((o) => o.key)).toEqual(after.files);
    const [agg] = await engine.query<{ n: number }>({ sql: 'select count(*) as n from r', inputs: [{ name: 'r', location: { bucket: BUCKET, prefix: 'out/r/' }, format: 'parquet' }] });
    expect(agg).toEqual({ n: 300000 });
  });

  it('reads data objects whatever their names end with, as Athena writes them, and refuses one in a subfolder', async () => {
    await engine.writeParquet({ sql: 'select 1 as n union all select 2', inputs: [], target: { bucket: BUCKET, prefix: 'out/s/' } });
    const [written] = await store.listAll(BUCKET, 'out/s/');
    await store.copy(BUCKET, written.key, 'in/s/20181128_030000_00012_x7k2p_a3b1c2d4-0000-4000-8000-000000000001');
    const input = { name: 's', location: { bucket: BUCKET, prefix: 'in/s/' }, format: 'parquet' as const };
    expect(await engine.query({ sql: 'select sum(n) as t from s', inputs: [input] })).toEqual([{ t: 3 }]);
    await store.put(BUCKET, 'in/s/nested/x', 'PAR1');
    await expect(engine.query({ sql: 'select sum(n) as t from s', inputs: [input] })).rejects.toThrow('input s: s3://lake/in/s/nested/x is in a subfolder of s3://lake/in/s/');
  });

  it('keeps its files in a temporary folder under the work dir and removes it on close', async () => {
    await store.put(BUCKET, 'in/h/x.csv', 'n\n1\n');
    await engine.query({ sql: 'select * from people', inputs: [csvInput('in/h/')] });
    const [runDir] = await readdir(work);
    expect(runDir).toMatch(/^duckdb-/);
    expect(await readdir(join(work, runDir, 'in'))).toHaveLength(1);
    await engine.close();
    expect(await readdir(work)).toEqual([]);
    await expect(engine.query({ sql: 'select 1', inputs: [] })).rejects.toThrow('query engine is closed');
  });
});

describe('createEngine', () => {
  const config = (env: Record<string, string>) => loadConfig({ ...baseSettings, ...engineSettings }, env);

  it('builds the DuckDB adapter by default, with a memory limit and two threads', async () => {
    const cfg = config({});
    expect(cfg.TRIPS_DUCKDB_MEMORY_LIMIT).toBe('512MB');
    expect(cfg.TRIPS_DUCKDB_THREADS).toBe(2);
    const engine = createEngine(cfg, {} as ObjectStore);
    expect(engine.dialect).toBe('duckdb');
    await engine.close();
  });

  it('picks Athena by TRIPS_ENGINE=athena, naming the Athena settings that are missing', async () => {
    expect(() => createEngine(config({ TRIPS_ENGINE: 'athena' }), {} as ObjectStore)).toThrow(ConfigError);
    expect(() => createEngine(config({ TRIPS_ENGINE: 'athena', TRIPS_ATHENA_DATABASE: 'lake' }), {} as ObjectStore)).toThrow('TRIPS_ENGINE=athena needs TRIPS_ATHENA_WORKGROUP (see docs/aws.md)');
    const athena = createEngine(config({ TRIPS_ENGINE: 'athena', TRIPS_ATHENA_WORKGROUP: 'trips', TRIPS_ATHENA_DATABASE: 'lake' }), {} as ObjectStore);
    expect(athena.dialect).toBe('athena');
    await athena.close();
  });

  it('refuses a malformed memory limit, naming the setting', () => {
    expect(() => config({ TRIPS_DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow('TRIPS_DUCKDB_MEMORY_LIMIT is invalid');
  });
});
