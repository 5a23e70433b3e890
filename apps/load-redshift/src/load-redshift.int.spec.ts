import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DataError, type TaskManifest } from '@trips/core';
import { manifestKey, partition, type Column, warehouseTables } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startPostgres, startS3Server, type LocalPostgres, type LocalS3 } from '@trips/local';
import { PostgresWarehouse } from '@trips/warehouse';
import { runLoadRedshift } from './load-redshift';

const WAREHOUSE_TABLES = warehouseTables();

const ROOT = join(__dirname, '..', '..', '..');
const buckets = { raw: 'raw', lake: 'lake' };

/** A value of the column's type for row i; keys differ per row (i) and repeat across days. */
function value(c: Column, i: string): string {
  switch (c.type) {
    case 'varchar':
      return `md5('${c.name}' || ${i})`;
    case 'double':
      return `${i} * 1.5`;
    case 'timestamp':
      return `timestamp '2018-05-28 00:00:00' + to_minutes(${i})`;
    case 'date':
      return `date '2018-05-28' + cast(${i} as integer)`;
    default:
      return `cast(${i} as ${c.type})`;
  }
}

describe('load-redshift', () => {
  let s3: LocalS3;
  let pg: LocalPostgres;
  let store: ObjectStore;
  let work: string;
  const run = (ds: string) => runLoadRedshift({ store, buckets, openWarehouse: () => new PostgresWarehouse(pg.url, store, work) }, ds);

  /** Writes `rows` generated rows (ids from..from+rows-1) of every model table into the ds partitions. */
  async function writeLake(ds: string, from: number, rows: number): Promise<void> {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    for (const t of WAREHOUSE_TABLES) {
      const cols = t.columns.map((c) => `${value(c, 'i')} as ${c.name}`).join(', ');
      const file = join(work, `${t.id}-${ds}.parquet`);
      await con.run(`copy (select ${cols} from range(${from}, ${from + rows}) r(i)) to '${file}' (format parquet)`);
      const loc = partition(buckets, t, ds);
      await store.deletePrefix(loc.bucket, loc.prefix);
      await store.upload(file, loc.bucket, `${loc.prefix}part-00000.parquet`);
    }
    con.closeSync();
    db.closeSync();
  }

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

  it('refuses a day whose facts were not built, naming the task to run', async () => {
    await writeLake('2018-05-30', 0, 5);
    await store.deletePrefix('lake', partition(buckets, 'fact_trips', '2018-05-30').prefix);
    await expect(run('2018-05-30')).rejects.toThrow(DataError);
    await expect(run('2018-05-30')).rejects.toThrow('no Parquet files for fact_trips under s3://lake/model/fact_trips/ds=2018-05-30/: run build-facts for ds=2018-05-30 first');
  });

  it('exits 78 naming TRIPS_PG_URL when the warehouse setting is missing', () => {
    const env: Record<string, string | undefined> = { ...process.env, ...s3.env(), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') };
    delete env.TRIPS_PG_URL;
    const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(ROOT, 'apps/load-redshift/src/main.ts'), '--ds', '2018-05-28'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('TRIPS_PG_URL is missing');
  }, 30_000);
});
