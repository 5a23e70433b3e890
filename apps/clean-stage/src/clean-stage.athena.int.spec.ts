import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, loadConfig, type TaskManifest } from '@trips/core';
import { AthenaEngine, createEngine, engineSettings } from '@trips/engine';
import { columnNames, table } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { awsToolsPython, startS3Server, type LocalS3 } from '@trips/local';
import { fakeAthenaClient, lakeGlueTables } from '@trips/testing';
import { runCleanStage } from './clean-stage';

// clean-stage with TRIPS_ENGINE=athena: the Athena API mocked, answered by a fake that translates
// each statement from Trino to DuckDB (sqlglot) and runs it over the real S3 server's objects. The
// run must account for and write exactly what the DuckDB engine does on the same validated rows.
const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };

describe('clean-stage on Athena (API mocked, statements run through sqlglot and DuckDB)', () => {
  const python = awsToolsPython();
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let athena: ReturnType<typeof fakeAthenaClient> | undefined;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-clean-athena-'));
    const row = (file: string, line: number, region: string, ts: string, source: string) =>
      [file, String(line), region, 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43109483523328 50.04052930943246)', ts, source].join(',');
    const rows = [
      row('trips/ingest_date=2018-05-28/a.csv', 2, 'Prague', '2018-05-28 09:03:40', 'funny_car'),
      row('trips/ingest_date=2018-05-28/a.csv', 3, '  prague ', '2018-05-28T09:03:40', ' Funny_Car '),
      row('trips/ingest_date=2018-05-28/a.csv', 4, 'Turin', '2018-05-28 23:59:59.250', 'baba_car'),
      row('trips/ingest_date=2018-05-28/b.csv', 2, 'Prague', '2018-05-28 09:03:40', 'funny_car'),
      row('trips/ingest_date=2018-05-28/b.csv', 3, 'hamburg', '2018-05-27 00:00:00', 'cheap_mobile'),
    ];
    await store.put('lake', `validated/trips/ds=${DS}/part-00000.csv`, [columnNames(table('validated_trips')).join(','), ...rows].join('\n') + '\n');
  });
  afterAll(async () => {
    await athena?.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('accounts for and writes what the DuckDB engine does', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    const duckdb = await runCleanStage({ store, buckets, openEngine: () => createEngine(loadConfig({ ...baseSettings, ...engineSettings }, { TRIPS_WORK_DIR: work }), store) }, DS);
    const readBack = async () =>
      createEngine(loadConfig({ ...baseSettings, ...engineSettings }, { TRIPS_WORK_DIR: work }), store).query({
        sql: 'select * from clean_trips order by trip_id',
        inputs: [{ name: 'clean_trips', location: { bucket: 'lake', prefix: `clean/trips/ds=${DS}/` }, format: 'parquet' }],
      });
    const duckRows = await readBack();

    athena = fakeAthenaClient({ store, database: 'trips_lake', tables: lakeGlueTables(buckets), python });
    const { client, fake: f } = athena;
    const openEngine = () => new AthenaEngine({ timeoutMs: 1_800_000, client, store, workgroup: 'trips', database: 'trips_lake', sleep: async () => undefined });

    const onAthena = await runCleanStage({ store, buckets, openEngine }, DS);

    const accounting = (m: TaskManifest) => ({ status: m.status, rows: m.rows, files: m.files, outputs: m.outputs });
    expect(accounting(onAthena)).toEqual(accounting(duckdb));
    expect(onAthena.rows).toEqual({ read: 5, passed: 3, rejected: 0, duplicates: 2 });
    expect(await readBack()).toEqual(duckRows);
    // One WITH list (Trino allows no second): the input's CTE joins the model's own.
    const unload = f.statements.find((s) => s.startsWith('UNLOAD')) as string;
    expect(unload.match(/^\s*with\s/gim)).toHaveLength(1);
    expect(unload).toContain(`with "validated_trips" as (select "source_file", "line_no", "region", "origin_coord", "destination_coord", "datetime", "datasource" from "trips_lake"."validated_trips" where ds = '2018-05-28'),\nvalidated as (`);
  }, 120_000);
});
