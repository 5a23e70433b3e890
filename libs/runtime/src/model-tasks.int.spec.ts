import { createHash } from 'node:crypto';
import { ContractError, DataError, type TaskManifest } from '@trips/core';
import { checkContract, contractOf } from '@trips/models';
import { manifestKey, partition, table, tablesOf } from '@trips/pipeline';
import { dataset } from './build-layer';
import { openModelLake, type ModelLake } from './fixtures/model-lake';
import { buildTask } from './model-task';

// The three model tasks (clean-stage, build-dimensions, build-facts) against a real S3 server and
// DuckDB: each on rows written for it, the tables before it materialised directly.
const DS = '2018-05-28';
const F = 'trips/ingest_date=2018-05-28/a.csv';
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const DIMENSIONS = tablesOf('dimensions').map((t) => t.id);
/** Two Prague trips of one origin and destination cell and hour (09:03 and 09:59). */
const PRAGUE_TRIPS = [
  [F, '2', 'Prague', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43109483523328 50.04052930943246)', '2018-05-28 09:03:40', 'funny_car'],
  [F, '3', 'Prague', 'POINT (14.491 50.005)', 'POINT (14.439 50.049)', '2018-05-28 09:59:00', 'cheap_mobile'],
];

/** Opens a lake for the describe block around it, closed after its tests. */
function useLake(setup: (lake: ModelLake) => Promise<unknown>): ModelLake {
  const holder = {} as { lake: ModelLake };
  beforeAll(async () => {
    holder.lake = await openModelLake();
    await setup(holder.lake);
  });
  afterAll(() => holder.lake?.close());
  return new Proxy({} as ModelLake, { get: (_, k) => (holder.lake as unknown as Record<string | symbol, unknown>)[k] });
}

describe('clean-stage', () => {
  const A = 'trips/ingest_date=2018-05-28/a.csv';
  const B = 'trips/ingest_date=2018-05-28/b.csv';
  const PRAGUE_O = 'POINT (14.4973794438195 50.00136875782316)';
  const PRAGUE_D = 'POINT (14.43109483523328 50.04052930943246)';
  const lake = useLake(async (l) => {
    await l.putValidated(DS, [
      [A, '2', 'Prague', PRAGUE_O, PRAGUE_D, '2018-05-28 09:03:40', 'funny_car'],
      // The same trip again, spelled differently: a duplicate.
      [A, '3', '  prague ', `point(14.4973794438195   50.00136875782316)`, ` ${PRAGUE_D}`, '2018-05-28T09:03:40', ' Funny_Car '],
      [A, '4', 'Turin', 'POINT (7.672837913286881 44.9957109242058)', 'POINT (7.720368637535126 45.06782385393849)', '2018-05-28 23:59:59.250', 'baba_car'],
      [A, '5', 'hamburg', 'POINT (10.07299025213017 53.62044974829032)', 'POINT (9.787478215489936 53.536544276834)', '2018-05-27 00:00:00', 'cheap_mobile'],
    ]);
    await l.putValidated(DS, [
      // Already seen in a.csv: a duplicate across files, kept from a.csv.
      [B, '2', 'Prague', PRAGUE_O, PRAGUE_D, '2018-05-28 09:03:40', 'funny_car'],
      [B, '3', '  são   PAULO ', 'POINT (-46.6 -23.5)', 'POINT (-46.7 -23.6)', '2018-05-28 12:00:00', 'cheap_mobile'],
      // Same place and time as the Turin trip but another datasource: a different trip.
      [B, '4', 'Turin', 'POINT (7.672837913286881 44.9957109242058)', 'POINT (7.720368637535126 45.06782385393849)', '2018-05-28 23:59:59', 'pt_search_app'],
    ], 1);
  });
  const cleanRows = () => lake.rows('clean_trips', DS, 'source_file, line_no');

  it('writes one typed, normalised row per distinct trip, dropping and counting duplicates per file', async () => {
    const manifest = await buildTask('clean-stage', lake.deps(), DS);

    expect(await cleanRows()).toEqual([
      {
        trip_id: md5(`Prague|funny_car|2018-05-28 09:03:40|${PRAGUE_O}|${PRAGUE_D}`),
        region: 'Prague', datasource: 'funny_car', trip_ts: '2018-05-28 09:03:40.000',
        origin_lon: 14.4973794438195, origin_lat: 50.00136875782316, dest_lon: 14.43109483523328, dest_lat: 50.04052930943246,
        source_file: A, line_no: 2,
      },
      expect.objectContaining({ region: 'Turin', datasource: 'baba_car', trip_ts: '2018-05-28 23:59:59.250', source_file: A, line_no: 4 }),
      expect.objectContaining({ region: 'Hamburg', datasource: 'cheap_mobile', trip_ts: '2018-05-27 00:00:00.000', origin_lon: 10.07299025213017, source_file: A, line_no: 5 }),
      expect.objectContaining({ region: 'São Paulo', datasource: 'cheap_mobile', origin_lon: -46.6, origin_lat: -23.5, dest_lon: -46.7, dest_lat: -23.6, source_file: B, line_no: 3 }),
      expect.objectContaining({ region: 'Turin', datasource: 'pt_search_app', source_file: B, line_no: 4 }),
    ]);

    expect(manifest).toMatchObject({
      task: 'clean_stage',
      ds: DS,
      status: 'succeeded',
      rows: { read: 7, passed: 5, rejected: 0, duplicates: 2 },
      rejectedByReason: {},
      files: [
        { file: A, status: 'ok', rows: { read: 4, passed: 3, rejected: 0, duplicates: 1 }, rejectedByReason: {} },
        { file: B, status: 'ok', rows: { read: 3, passed: 2, rejected: 0, duplicates: 1 }, rejectedByReason: {} },
      ],
      outputs: [{ location: `s3://lake/clean/trips/ds=${DS}/`, rows: 5 }],
    });
    expect(await lake.store.getJson<TaskManifest>('lake', manifestKey('clean_stage', DS))).toEqual(manifest);
  });

  it('leaves exactly the state of one run when run twice', async () => {
    const first = await buildTask('clean-stage', lake.deps(), DS);
    const objects = await lake.store.listAll('lake', 'clean/');
    const rows = await cleanRows();
    const second = await buildTask('clean-stage', lake.deps(), DS);
    // As many objects (the new write's, the old ones gone) and the same rows; names and bytes differ
    // (each write names its files apart; row order within a file carries no meaning).
    const after = (await lake.store.listAll('lake', 'clean/')).map((o) => o.key);
    expect(after).toHaveLength(objects.length);
    expect(after.filter((k) => objects.some((o) => o.key === k))).toEqual([]);
    expect(objects.map((o) => o.key)).toEqual([expect.stringMatching(new RegExp(`^clean/trips/ds=${DS}/part-00000-[0-9a-f]{8}\\.parquet$`))]);
    expect(await cleanRows()).toEqual(rows);
    expect({ ...second, startedAt: 0, finishedAt: 0, durationMs: 0 }).toEqual({ ...first, startedAt: 0, finishedAt: 0, durationMs: 0 });
  });

  it('fails with a data error and a failed manifest when the day has no validated rows', async () => {
    const run = buildTask('clean-stage', lake.deps(), '2018-05-29');
    await expect(run).rejects.toThrow(DataError);
    const manifest = await lake.store.getJson<TaskManifest>('lake', manifestKey('clean_stage', '2018-05-29'));
    expect(manifest).toMatchObject({ status: 'failed', rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 } });
    expect(manifest?.error).toContain('no objects under s3://lake/validated/trips/ds=2018-05-29/');
  });
});

describe('build-dimensions', () => {
  // Two Prague trips share cells and hour (one group), a third is in another hour; one Turin trip.
  const lake = useLake(async (l) => {
    await l.putValidated(DS, [
      ...PRAGUE_TRIPS,
      [F, '4', 'Prague', 'POINT (14.491 50.005)', 'POINT (14.439 50.049)', '2018-05-28 10:00:00', 'cheap_mobile'],
      [F, '5', 'turin', 'POINT (7.672837913286881 44.9957109242058)', 'POINT (7.720368637535126 45.06782385393849)', '2018-12-31 23:30:00', 'baba_car'],
    ]);
    await l.materialize(DS, 'clean_trips');
  });

  it('writes the members the day uses, keyed by hashes of their natural keys, and a manifest of the outputs', async () => {
    const manifest = await buildTask('build-dimensions', lake.deps(), DS);

    expect(await lake.rows('dim_region', DS, 'name')).toEqual([
      { region_key: md5('Prague'), name: 'Prague' },
      { region_key: md5('Turin'), name: 'Turin' },
    ]);
    expect(await lake.rows('dim_datasource', DS, 'name')).toEqual([
      { datasource_key: md5('baba_car'), name: 'baba_car' },
      { datasource_key: md5('cheap_mobile'), name: 'cheap_mobile' },
      { datasource_key: md5('funny_car'), name: 'funny_car' },
    ]);
    expect(await lake.rows('dim_date', DS, 'date_key')).toEqual([
      { date_key: 20180528, calendar_date: '2018-05-28', year: 2018, month: 5, day: 28, iso_day_of_week: 1, iso_year: 2018, iso_week: 22, week_start_date: '2018-05-28' },
      { date_key: 20181231, calendar_date: '2018-12-31', year: 2018, month: 12, day: 31, iso_day_of_week: 1, iso_year: 2019, iso_week: 1, week_start_date: '2018-12-31' },
    ]);
    const hours = await lake.rows('dim_time_of_day', DS, 'hour_of_day');
    expect(hours).toHaveLength(24);
    expect([hours[0], hours[9], hours[12], hours[23]]).toEqual([
      { time_of_day_key: 0, hour_of_day: 0, label: '00:00-01:00', day_part: 'night' },
      { time_of_day_key: 9, hour_of_day: 9, label: '09:00-10:00', day_part: 'morning' },
      { time_of_day_key: 12, hour_of_day: 12, label: '12:00-13:00', day_part: 'afternoon' },
      { time_of_day_key: 23, hour_of_day: 23, label: '23:00-24:00', day_part: 'evening' },
    ]);
    const prague = md5('Prague');
    expect(await lake.rows('dim_trip_group', DS, 'origin_cell_x desc, time_bucket')).toEqual([
      { trip_group_key: md5(`${prague}|1449|5000|1443|5004|9|0.01|60`), region_key: prague, origin_cell_x: 1449, origin_cell_y: 5000, dest_cell_x: 1443, dest_cell_y: 5004, time_bucket: 9, cell_size_deg: 0.01, bucket_minutes: 60 },
      { trip_group_key: md5(`${prague}|1449|5000|1443|5004|10|0.01|60`), region_key: prague, origin_cell_x: 1449, origin_cell_y: 5000, dest_cell_x: 1443, dest_cell_y: 5004, time_bucket: 10, cell_size_deg: 0.01, bucket_minutes: 60 },
      expect.objectContaining({ region_key: md5('Turin'), origin_cell_x: 767, origin_cell_y: 4499, dest_cell_x: 772, dest_cell_y: 4506, time_bucket: 23 }),
    ]);

    expect(manifest).toMatchObject({
      task: 'build_dimensions',
      status: 'succeeded',
      rows: { read: 4, passed: 4, rejected: 0, duplicates: 0 },
      files: [{ file: `s3://lake/clean/trips/ds=${DS}/`, status: 'ok', rows: { read: 4, passed: 4, rejected: 0, duplicates: 0 } }],
      outputs: [
        { location: `s3://lake/model/dim_region/ds=${DS}/`, rows: 2 },
        { location: `s3://lake/model/dim_datasource/ds=${DS}/`, rows: 3 },
        { location: `s3://lake/model/dim_date/ds=${DS}/`, rows: 2 },
        { location: `s3://lake/model/dim_time_of_day/ds=${DS}/`, rows: 24 },
        { location: `s3://lake/model/dim_trip_group/ds=${DS}/`, rows: 3 },
      ],
    });
    expect(await lake.store.getJson<TaskManifest>('lake', manifestKey('build_dimensions', DS))).toEqual(manifest);
  });

  it('puts the grid settings into the groups, so other settings give other keys', async () => {
    await buildTask('build-dimensions', lake.deps({ TRIPS_GRID_CELL_DEG: '0.1', TRIPS_TIME_BUCKET_MINUTES: '120' }), DS);
    const groups = await lake.rows('dim_trip_group', DS, 'origin_cell_x desc, time_bucket');
    const prague = md5('Prague');
    // 09:03, 09:59 and 10:00 all fall in the 08:00-10:00 bucket (4) but for 10:00 (5).
    expect(groups.slice(0, 2)).toEqual([
      { trip_group_key: md5(`${prague}|144|500|144|500|4|0.1|120`), region_key: prague, origin_cell_x: 144, origin_cell_y: 500, dest_cell_x: 144, dest_cell_y: 500, time_bucket: 4, cell_size_deg: 0.1, bucket_minutes: 120 },
      expect.objectContaining({ time_bucket: 5, trip_group_key: md5(`${prague}|144|500|144|500|5|0.1|120`) }),
    ]);
  });

  it('leaves exactly the state of one run when run twice', async () => {
    const first = await buildTask('build-dimensions', lake.deps(), DS);
    const keys = (await lake.store.listAll('lake', 'model/')).map((o) => o.key);
    const groups = await lake.rows('dim_trip_group', DS, 'trip_group_key');
    const second = await buildTask('build-dimensions', lake.deps(), DS);
    expect((await lake.store.listAll('lake', 'model/')).map((o) => o.key.replace(/-[0-9a-f]{8}\.parquet$/, ''))).toEqual(keys.map((k) => k.replace(/-[0-9a-f]{8}\.parquet$/, '')));
    expect(keys).toHaveLength(5);
    expect(await lake.rows('dim_trip_group', DS, 'trip_group_key')).toEqual(groups);
    expect(second.outputs).toEqual(first.outputs);
    expect(second.rows).toEqual(first.rows);
  });

  it('fails with a data error naming the clean partition when clean-stage has not run for the day', async () => {
    await expect(buildTask('build-dimensions', lake.deps(), '2018-06-01')).rejects.toThrow(DataError);
    const manifest = await lake.store.getJson<TaskManifest>('lake', manifestKey('build_dimensions', '2018-06-01'));
    expect(manifest?.status).toBe('failed');
    expect(manifest?.error).toContain('no objects under s3://lake/clean/trips/ds=2018-06-01/');
  });
});

describe('build-facts', () => {
  const lake = useLake(async (l) => {
    await l.putValidated(DS, [
      ...PRAGUE_TRIPS,
      [F, '4', 'Hamburg', 'POINT (10.07299025213017 53.62044974829032)', 'POINT (9.787478215489936 53.536544276834)', '2018-05-27 18:15:00', 'cheap_mobile'],
    ]);
    await l.materialize(DS, 'clean_trips', ...DIMENSIONS);
  });
  const ref = (id: string, ds = DS) => dataset(lake.buckets, table(id), ds);
  const facts = () => lake.rows('fact_trips', DS, 'trip_ts');

  it('writes one fact per clean trip with keys that join every dimension of the day', async () => {
    const manifest = await buildTask('build-facts', lake.deps(), DS);

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

    const [joined] = await lake.engine.query({
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
    expect(await lake.store.getJson<TaskManifest>('lake', manifestKey('build_facts', DS))).toEqual(manifest);
  });

  it('leaves exactly the state of one run when run twice', async () => {
    const first = await buildTask('build-facts', lake.deps(), DS);
    const keys = (await lake.store.listAll('lake', 'model/fact_trips/')).map((o) => o.key);
    const rows = await facts();
    const second = await buildTask('build-facts', lake.deps(), DS);
    expect((await lake.store.listAll('lake', 'model/fact_trips/')).map((o) => o.key)).toHaveLength(keys.length);
    expect(keys).toEqual([expect.stringMatching(new RegExp(`^model/fact_trips/ds=${DS}/part-00000-[0-9a-f]{8}\\.parquet$`))]);
    expect(await facts()).toEqual(rows);
    expect({ ...second, startedAt: 0, finishedAt: 0, durationMs: 0 }).toEqual({ ...first, startedAt: 0, finishedAt: 0, durationMs: 0 });
  });

  it('fails its contract, naming the missing key, when a dimension of the day lacks a member', async () => {
    await lake.engine.writeParquet({ sql: "select * from dim_region where name <> 'Prague'", inputs: [ref('dim_region')], target: ref('dim_region').location });
    try {
      const run = buildTask('build-facts', lake.deps(), DS);
      await expect(run).rejects.toThrow(ContractError);
      const manifest = await lake.store.getJson<TaskManifest>('lake', manifestKey('build_facts', DS));
      expect(manifest?.status).toBe('failed');
      expect(manifest?.error).toContain(`contract of fact_trips failed for s3://lake/model/fact_trips/ds=${DS}/: relationship(region_key -> dim_region.region_key): 1 values missing from dim_region, e.g. ${md5('Prague')}`);
    } finally {
      await lake.materialize(DS, ...DIMENSIONS);
    }
  });

  it('fails with a data error when build-dimensions has not run for the day', async () => {
    await lake.engine.writeParquet({ sql: 'select * from clean_trips', inputs: [ref('clean_trips')], target: partition(lake.buckets, 'clean_trips', '2018-06-01') });
    await expect(buildTask('build-facts', lake.deps(), '2018-06-01')).rejects.toThrow(DataError);
    const manifest = await lake.store.getJson<TaskManifest>('lake', manifestKey('build_facts', '2018-06-01'));
    expect(manifest?.error).toContain('no objects under s3://lake/model/dim_region/ds=2018-06-01/');
  });
});

describe('contract checks through the engine', () => {
  const lake = useLake((l) => l.store.put('lake', 'seed/x.csv', 'n\n1\n'));
  const at = (prefix: string) => ({ bucket: 'lake', prefix });

  const write = (prefix: string, sql: string) => lake.engine.writeParquet({ sql, inputs: [{ name: 'seed', location: at('seed/'), format: 'csv' }], target: at(prefix) });

  it('names repeated keys, null columns and values outside the accepted list, with samples', async () => {
    await write('bad/tod/', `select * from (values (1, 1, 'a', 'night'), (1, 1, 'b', 'brunch'), (2, 2, null, 'night')) t(time_of_day_key, hour_of_day, label, day_part)`);
    const check = checkContract(lake.engine, contractOf(table('dim_time_of_day')), at('bad/tod/'));
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
    await expect(checkContract(lake.engine, contractOf(table('dim_region')), at('bad/region-order/'))).rejects.toThrow(
      'columns: expected region_key, name; found name, region_key',
    );
    await write('bad/region-type/', 'select cast(1 as bigint) as region_key, name from (select 1 as name) where false');
    await expect(checkContract(lake.engine, contractOf(table('dim_region')), at('bad/region-type/'))).rejects.toThrow(
      'column types: region_key is bigint, expected varchar, name is integer, expected varchar',
    );
  });

  it('passes a model that keeps its promises and reports the checks it ran', async () => {
    await write('good/region/', "select 'k1' as region_key, 'Prague' as name union all select 'k2', 'Turin'");
    // Three queries whatever the number of checks (on Athena each is a round trip): the column
    // names, their types, and every count at once; a failed check would then ask for its sample.
    const sent: string[] = [];
    const counting = { query: <T>(req: Parameters<typeof lake.engine.query>[0]) => (sent.push(req.sql), lake.engine.query<T>(req)) };
    const result = await checkContract(counting, contractOf(table('dim_region')), at('good/region/'));
    expect(result).toEqual({
      model: 'dim_region',
      rows: 2,
      checks: ['columns', 'not_null(region_key)', 'not_null(name)', 'unique(region_key)', 'unique(name)'],
    });
    expect(sent).toHaveLength(3);
  });
});
