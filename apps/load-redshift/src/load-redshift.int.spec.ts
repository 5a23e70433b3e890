import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, DataError, type TaskManifest } from '@trips/core';
import { copyManifestKey, manifestKey, partition, warehouseTables, type TableDef } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startPostgres, startS3Server, type LocalPostgres, type LocalS3 } from '@trips/local';
import { DuckDBInstance } from '@duckdb/node-api';
import { PostgresWarehouse } from '@trips/warehouse';
import { writeLake as writeLakeFiles, type LakeWrite } from './fixtures/lake';
import { runLoadRedshift } from './load-redshift';

const WAREHOUSE_TABLES = warehouseTables();

const ROOT = join(__dirname, '..', '..', '..');
const buckets = { raw: 'raw', lake: 'lake' };

describe('load-redshift', () => {
  let s3: LocalS3;
  let pg: LocalPostgres;
  let store: ObjectStore;
  let work: string;
  const run = (ds: string) => runLoadRedshift({ store, buckets, openWarehouse: () => new PostgresWarehouse(pg.url, store, work) }, ds);

  const writeLake = (ds: string, from: number, rows: number, o?: LakeWrite) => writeLakeFiles(store, buckets, work, ds, from, rows, o);

  async function snapshot(): Promise<Record<string, string>> {
    const wh = new PostgresWarehouse(pg.url, store, work);
    const out: Record<string, string> = {};
    for (const t of WAREHOUSE_TABLES) {
      const [r] = await wh.query<{ n: string; h: string }>(`select count(*) as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from trips.${t.id} x`);
      out[t.id] = `${r.n}:${r.h}`;
    }
    await wh.close();
    return out;
  }

  beforeAll(async () => {
    [s3, pg] = await Promise.all([startS3Server({ buckets: ['raw', 'lake'] }), startPostgres()]);
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'load-'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([s3.close(), pg.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it('loads every table, counts rows per table, and a rerun leaves the warehouse identical', async () => {
    await writeLake('2018-05-28', 0, 50);
    const m = await run('2018-05-28');
    expect(m.files.map((f) => [f.file, f.rows.read, f.rows.passed, f.rows.duplicates])).toEqual(WAREHOUSE_TABLES.map((t) => [`trips.${t.id}`, 50, 50, 0]));
    const first = await snapshot();
    const again = await run('2018-05-28');
    expect(again.files.find((f) => f.file === 'trips.fact_trips')?.rows).toEqual({ read: 50, passed: 50, rejected: 0, duplicates: 0 });
    expect(again.files.find((f) => f.file === 'trips.dim_region')?.rows).toEqual({ read: 50, passed: 0, rejected: 0, duplicates: 50 });
    expect(await snapshot()).toEqual(first);
    expect(await store.getJson<TaskManifest>('lake', manifestKey('load_redshift', '2018-05-28'))).toMatchObject({ status: 'succeeded' });
  });

  it('gives the same warehouse whichever order two overlapping days load in', async () => {
    await writeLake('2018-05-29', 40, 30); // 10 trips and members overlap with 2018-05-28
    const m = await run('2018-05-29');
    expect(m.files.find((f) => f.file === 'trips.fact_trips')?.rows).toEqual({ read: 30, passed: 20, rejected: 0, duplicates: 10 });
    const inOrder = await snapshot();
    await run('2018-05-28');
    await run('2018-05-29');
    expect(await snapshot()).toEqual(inOrder);
  });

  it('vacuums the merged dimensions once the day has committed: every page of theirs is marked all-visible, so the next merge reads their keys alone', async () => {
    await writeLake('2018-05-31', 100, 400);
    await run('2018-05-31');
    const merged = WAREHOUSE_TABLES.filter((t) => t.warehouse.load === 'merge').map((t) => t.id);
    const wh = new PostgresWarehouse(pg.url, store, work);
    const pages = await wh.query<{ relname: string; relpages: number; relallvisible: number }>(
      `select relname, relpages, relallvisible from pg_class where relnamespace = 'trips'::regnamespace and relname = any($1) order by relname`,
      [merged],
    );
    expect(pages.length).toBe(merged.length);
    for (const p of pages) expect(p).toEqual({ relname: p.relname, relpages: expect.any(Number), relallvisible: p.relpages });
    expect(Math.min(...pages.map((p) => p.relpages))).toBeGreaterThan(0);
    // The trip groups' probe, as the merge's step asks it: the key alone, no row read to check it is visible.
    await wh.query('begin');
    await wh.query('set local enable_hashjoin = off');
    await wh.query('set local enable_mergejoin = off');
    const plan = await wh.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, costs off) select count(*) from trips.dim_trip_group s where not exists (select 1 from trips.dim_trip_group x where x.trip_group_key = s.trip_group_key)`,
    );
    await wh.query('rollback');
    await wh.close();
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('Index Only Scan using dim_trip_group_pkey');
    expect(text).toMatch(/Heap Fetches: 0\b/);
  });

  it('reports the day loaded when the upkeep after it fails, with the day in the warehouse', async () => {
    class FailingUpkeep extends PostgresWarehouse {
      override async afterLoads(): Promise<void> {
        throw new Error('vacuum refused');
      }
    }
    await writeLake('2018-06-01', 600, 10);
    const lines: string[] = [];
    const logger = createLogger('load-redshift', 'info', new Writable({ write: (chunk, _, done) => (lines.push(String(chunk)), done()) }));
    const m = await runLoadRedshift({ store, buckets, logger, openWarehouse: () => new FailingUpkeep(pg.url, store, work) }, '2018-06-01');
    expect(m.files.find((f) => f.file === 'trips.fact_trips')?.rows).toEqual({ read: 10, passed: 10, rejected: 0, duplicates: 0 });
    const warnings = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.msg)).toEqual(['load-redshift: the warehouse upkeep after the load failed (the day is loaded): vacuum refused']);
    const wh = new PostgresWarehouse(pg.url, store, work);
    const [n] = await wh.query<{ n: number }>(`select count(*) as n from trips.fact_trips where ds = '2018-06-01'`);
    await wh.close();
    expect(n.n).toBe(10);
  });

  it('stages the facts beside the dimensions but changes nothing of them when a dimension fails, reporting that dimension', async () => {
    const before = await snapshot();
    await writeLake('2018-06-02', 500, 20);
    // A region name longer than the warehouse column: dim_region's COPY fails.
    const file = join(work, 'dim_region-too-long.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(`copy (select md5('region_key' || i) as region_key, repeat('x', 5000) as name from range(500, 520) r(i)) to '${file}' (format parquet)`);
    con.closeSync();
    db.closeSync();
    const loc = partition(buckets, 'dim_region', '2018-06-02');
    await store.deletePrefix(loc.bucket, loc.prefix);
    await store.upload(file, loc.bucket, `${loc.prefix}part-00000-0a1b2c3d.parquet`);
    const error = await run('2018-06-02').catch((e: Error) => e);
    expect(String(error)).toContain('loading trips.dim_region for ds=2018-06-02 failed, nothing changed');
    expect(await snapshot()).toEqual(before);
    await store.deletePrefix('lake', 'model/');
  });

  it('refuses a day whose facts were not built, naming the task to run', async () => {
    await writeLake('2018-05-30', 0, 5);
    await store.deletePrefix('lake', partition(buckets, 'fact_trips', '2018-05-30').prefix);
    await expect(run('2018-05-30')).rejects.toThrow(DataError);
    await expect(run('2018-05-30')).rejects.toThrow('no data files for fact_trips under s3://lake/model/fact_trips/ds=2018-05-30/: run build-facts for ds=2018-05-30 first');
  });

  it('loads data files whatever their names end with (Athena writes none), and lists exactly them in the COPY manifest', async () => {
    const athenaName = (t: { id: string }) => `20181128_030000_00012_x7k2p_${t.id.replace(/_/g, '')}`;
    await writeLake('2018-05-31', 0, 5, { name: athenaName });
    const m = await run('2018-05-31');
    expect(m.files.find((f) => f.file === 'trips.fact_trips')?.rows.read).toBe(5);
    const copy = JSON.parse(await store.getText('lake', copyManifestKey('load_redshift', 'fact_trips', '2018-05-31')));
    expect(copy.entries).toEqual([{ url: `s3://lake/model/fact_trips/ds=2018-05-31/${athenaName({ id: 'fact_trips' })}`, mandatory: true, meta: { content_length: expect.any(Number) } }]);
    expect(copy.entries[0].meta.content_length).toBe((await store.head('lake', `model/fact_trips/ds=2018-05-31/${athenaName({ id: 'fact_trips' })}`))?.size);
  });

  it('refuses a file whose columns are swapped before loading anything, naming the file and both orders', async () => {
    const before = await snapshot();
    const swap = (t: TableDef) => (t.id === 'fact_trips' ? [...t.columns.slice(1, 2), t.columns[0], ...t.columns.slice(2)] : t.columns);
    await writeLake('2018-06-01', 100, 5, { columns: swap });
    const failure = run('2018-06-01');
    await expect(failure).rejects.toThrow(DataError);
    const message = await run('2018-06-01').catch((e: Error) => e.message);
    expect(message).toContain('s3://lake/model/fact_trips/ds=2018-06-01/part-00000-0a1b2c3d.parquet does not match fact_trips of the catalog, so it is not loaded (Redshift COPY maps Parquet columns by position): columns: expected trip_id, trip_ts, origin_lon');
    expect(message).toContain('found trip_ts, trip_id, origin_lon');
    // Nothing was loaded, not even the dimensions checked before the facts.
    expect(await snapshot()).toEqual(before);
  });

  it('exits 78 naming TRIPS_PG_URL when the warehouse setting is missing', () => {
    const env: Record<string, string | undefined> = { ...process.env, ...s3.env(), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') };
    delete env.TRIPS_PG_URL;
    const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(ROOT, 'apps/load-redshift/src/main.ts'), '--ds', '2018-05-28'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('TRIPS_PG_URL is missing');
  }, 30_000);
});
