import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, ContractError, createLogger, DataError, loadConfig, type TaskManifest } from '@trips/core';
import { createEngine, engineSettings, type DatasetRef, type QueryEngine } from '@trips/engine';
import { checkContract, contractOf, gridSettings, gridVars, renderModel } from '@trips/models';
import { manifestKey, partition, columnNames, table, tablesOf } from '@trips/pipeline';
import { buildTask } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';

const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const F = 'trips/ingest_date=2018-05-28/a.csv';
const VALIDATED = [
  [F, '2', 'Prague', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43109483523328 50.04052930943246)', '2018-05-28 09:03:40', 'funny_car'],
  [F, '3', 'Prague', 'POINT (14.491 50.005)', 'POINT (14.439 50.049)', '2018-05-28 09:59:00', 'cheap_mobile'],
  [F, '4', 'Hamburg', 'POINT (10.07299025213017 53.62044974829032)', 'POINT (9.787478215489936 53.536544276834)', '2018-05-27 18:15:00', 'cheap_mobile'],
];
const ref = (name: string, ds = DS): DatasetRef => ({ name, location: partition(buckets, name, ds), format: 'parquet' });

describe('build-facts against a real S3 server and DuckDB', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let engine: QueryEngine;
  const config = () => loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, { TRIPS_WORK_DIR: work });
  const deps = () => ({ store, buckets, openEngine: () => createEngine(config(), store), grid: config(), logger: createLogger('build-facts', 'silent') });
  const facts = () => engine.query({ sql: 'select * from fact_trips order by trip_ts', inputs: [ref('fact_trips')] });
  const writeDimensions = async () => {
    for (const dim of tablesOf('dimensions')) {
      const inputs = (dim.model?.inputs.length ?? 0) > 0 ? [ref('clean_trips')] : [];
      await engine.writeParquet({ sql: renderModel(dim, 'duckdb', gridVars(config())), inputs, target: ref(dim.id).location });
    }
  };

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-facts-'));
    engine = createEngine(config(), store);
    const validated = partition(buckets, 'validated_trips', DS);
    await store.put('lake', `${validated.prefix}part-00000.csv`, [columnNames(table('validated_trips')).join(','), ...VALIDATED.map((r) => r.join(','))].join('\n') + '\n');
    await engine.writeParquet({
      sql: renderModel('clean_trips', 'duckdb'),
      inputs: [{ name: 'validated_trips', location: validated, format: 'csv', columns: columnNames(table('validated_trips')) }],
      target: partition(buckets, 'clean_trips', DS),
    });
    await writeDimensions();
  });
  afterAll(async () => {
    await engine.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('writes one fact per clean trip with keys that join every dimension of the day', async () => {
    const manifest = await buildTask('build-facts', deps(), DS);

    const rows = await facts();
    expect(rows).toHaveLength(3);
    const prague = md5('Prague');
    expect(rows[1]).toEqual({
      trip_id: md5('Prague|funny_car|2018-05-28 09:03:40|POINT (14.4973794438195 50.00136875782316)|POINT (14.43109483523328 50.04052930943246)'),
      trip_ts: '2018-05-28 09:03:40.000',
      origin_lon: 14.4973794438195, origin_lat: 50.00136875782316, dest_lon: 14.43109483523328, dest_lat: 50.04052930943246,
      region_key: prague,
      datasource_key: md5('funny_car'),
      date_key: 20180528,
      time_of_day_key: 9,
      trip_group_key: md5(`${prague}|1449|5000|1443|5004|9|0.01|60`),
      origin_cell_x: 1449, origin_cell_y: 5000, dest_cell_x: 1443, dest_cell_y: 5004,
    });
    expect(rows[2]).toMatchObject({ region_key: prague, trip_group_key: rows[1].trip_group_key, datasource_key: md5('cheap_mobile') });
    expect(rows[0]).toMatchObject({ region_key: md5('Hamburg'), date_key: 20180527, time_of_day_key: 18 });

    const [joined] = await engine.query({
      sql: `select count(*) as n from fact_trips f
            join dim_region using (region_key) join dim_datasource using (datasource_key) join dim_date using (date_key)
            join dim_time_of_day using (time_of_day_key) join dim_trip_group g using (trip_group_key)`,
      inputs: ['fact_trips', 'dim_region', 'dim_datasource', 'dim_date', 'dim_time_of_day', 'dim_trip_group'].map((n) => ref(n)),
    });
    expect(joined).toEqual({ n: 3 });

    expect(manifest).toMatchObject({
      task: 'build_facts',
      status: 'succeeded',
      rows: { read: 3, passed: 3, rejected: 0, duplicates: 0 },
      files: [{ file: `s3://lake/clean/trips/ds=${DS}/`, status: 'ok', rows: { read: 3, passed: 3, rejected: 0, duplicates: 0 } }],
      outputs: [{ location: `s3://lake/model/fact_trips/ds=${DS}/`, rows: 3 }],
    });
    expect(await store.getJson<TaskManifest>('lake', manifestKey('build_facts', DS))).toEqual(manifest);
  });

  it('leaves exactly the state of one run when run twice', async () => {
    const first = await buildTask('build-facts', deps(), DS);
    const keys = (await store.listAll('lake', 'model/fact_trips/')).map((o) => o.key);
    const rows = await facts();
    const second = await buildTask('build-facts', deps(), DS);
    expect((await store.listAll('lake', 'model/fact_trips/')).map((o) => o.key)).toEqual(keys);
    expect(keys).toEqual([`model/fact_trips/ds=${DS}/part-00000.parquet`]);
    expect(await facts()).toEqual(rows);
    expect({ ...second, startedAt: 0, finishedAt: 0, durationMs: 0 }).toEqual({ ...first, startedAt: 0, finishedAt: 0, durationMs: 0 });
  });

  it('fails its contract, naming the missing key, when a dimension of the day lacks a member', async () => {
    await engine.writeParquet({ sql: "select * from dim_region where name <> 'Prague'", inputs: [ref('dim_region')], target: ref('dim_region').location });
    try {
      const run = buildTask('build-facts', deps(), DS);
      await expect(run).rejects.toThrow(ContractError);
      const manifest = await store.getJson<TaskManifest>('lake', manifestKey('build_facts', DS));
      expect(manifest?.status).toBe('failed');
      expect(manifest?.error).toContain(`contract of fact_trips failed for s3://lake/model/fact_trips/ds=${DS}/: relationship(region_key -> dim_region.region_key): 1 values missing from dim_region, e.g. ${md5('Prague')}`);
    } finally {
      await writeDimensions();
    }
  });

  it('fails with a data error when build-dimensions has not run for the day', async () => {
    await engine.writeParquet({ sql: 'select * from clean_trips', inputs: [ref('clean_trips')], target: partition(buckets, 'clean_trips', '2018-06-01') });
    await expect(buildTask('build-facts', deps(), '2018-06-01')).rejects.toThrow(DataError);
    const manifest = await store.getJson<TaskManifest>('lake', manifestKey('build_facts', '2018-06-01'));
    expect(manifest?.error).toContain('no objects under s3://lake/model/dim_region/ds=2018-06-01/');
  });
});

describe('contract checks through the engine', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let engine: QueryEngine;
  const at = (prefix: string) => ({ bucket: 'lake', prefix });

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-contract-'));
    engine = createEngine(loadConfig({ ...baseSettings, ...engineSettings }, { TRIPS_WORK_DIR: work }), store);
    await store.put('lake', 'seed/x.csv', 'n\n1\n');
  });
  afterAll(async () => {
    await engine.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  const write = (prefix: string, sql: string) => engine.writeParquet({ sql, inputs: [{ name: 'seed', location: at('seed/'), format: 'csv' }], target: at(prefix) });

  it('names repeated keys, null columns and values outside the accepted list, with samples', async () => {
    await write('bad/tod/', `select * from (values (1, 1, 'a', 'night'), (1, 1, 'b', 'brunch'), (2, 2, null, 'night')) t(time_of_day_key, hour_of_day, label, day_part)`);
    const check = checkContract(engine, contractOf(table('dim_time_of_day')), at('bad/tod/'));
    await expect(check).rejects.toThrow(ContractError);
    const message = await check.catch((e: Error) => e.message);
    expect(message).toContain('contract of dim_time_of_day failed for s3://lake/bad/tod/');
    expect(message).toContain('row_count: expected 24 rows, found 3');
    expect(message).toContain('not_null(label): 1 rows, e.g. time_of_day_key = 2');
    expect(message).toContain('unique(time_of_day_key): 1 values repeated, e.g. 1');
    expect(message).toContain('accepted_values(day_part): 1 values outside the list, e.g. brunch');
  });

  it('names columns out of order and columns of the wrong type, even on an empty output', async () => {
    await write('bad/region-order/', "select 'Prague' as name, 'k' as region_key");
    await expect(checkContract(engine, contractOf(table('dim_region')), at('bad/region-order/'))).rejects.toThrow(
      'columns: expected region_key, name; found name, region_key',
    );
    await write('bad/region-type/', 'select cast(1 as bigint) as region_key, name from (select 1 as name) where false');
    await expect(checkContract(engine, contractOf(table('dim_region')), at('bad/region-type/'))).rejects.toThrow(
      'column types: region_key is bigint, expected varchar, name is integer, expected varchar',
    );
  });

  it('passes a model that keeps its promises and reports the checks it ran', async () => {
    await write('good/region/', "select 'k1' as region_key, 'Prague' as name union all select 'k2', 'Turin'");
    const result = await checkContract(engine, contractOf(table('dim_region')), at('good/region/'));
    expect(result).toEqual({
      model: 'dim_region',
      rows: 2,
      checks: ['columns', 'not_null(region_key)', 'not_null(name)', 'unique(region_key)', 'unique(name)'],
    });
  });
});
