import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, createLogger, DataError, loadConfig, type TaskManifest } from '@trips/core';
import { createEngine, engineSettings, type QueryEngine } from '@trips/engine';
import { gridSettings, renderModel } from '@trips/models';
import { manifestKey, partition, columnNames, table } from '@trips/pipeline';
import { buildTask } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';

const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const F = 'trips/ingest_date=2018-05-28/a.csv';

// Two Prague trips share cells and hour (one group), a third is in another hour; one Turin trip.
const VALIDATED = [
  [F, '2', 'Prague', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43109483523328 50.04052930943246)', '2018-05-28 09:03:40', 'funny_car'],
  [F, '3', 'Prague', 'POINT (14.491 50.005)', 'POINT (14.439 50.049)', '2018-05-28 09:59:00', 'cheap_mobile'],
  [F, '4', 'Prague', 'POINT (14.491 50.005)', 'POINT (14.439 50.049)', '2018-05-28 10:00:00', 'cheap_mobile'],
  [F, '5', 'turin', 'POINT (7.672837913286881 44.9957109242058)', 'POINT (7.720368637535126 45.06782385393849)', '2018-12-31 23:30:00', 'baba_car'],
];

describe('build-dimensions against a real S3 server and DuckDB', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let reader: QueryEngine;
  const config = (env: Record<string, string> = {}) => loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, { TRIPS_WORK_DIR: work, ...env });
  const deps = (env: Record<string, string> = {}) => ({
    store,
    buckets,
    openEngine: () => createEngine(config(env), store),
    grid: config(env),
    logger: createLogger('build-dimensions', 'silent'),
  });
  const dim = (name: string, prefix: string, orderBy: string) =>
    reader.query({ sql: `select * from ${name} order by ${orderBy}`, inputs: [{ name, location: { bucket: 'lake', prefix }, format: 'parquet' }] });

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-dims-'));
    reader = createEngine(config(), store);
    const validated = partition(buckets, 'validated_trips', DS);
    await store.put('lake', `${validated.prefix}part-00000.csv`, [columnNames(table('validated_trips')).join(','), ...VALIDATED.map((r) => r.join(','))].join('\n') + '\n');
    await reader.writeParquet({
      sql: renderModel('clean_trips', 'duckdb'),
      inputs: [{ name: 'validated_trips', location: validated, format: 'csv', columns: columnNames(table('validated_trips')) }],
      target: partition(buckets, 'clean_trips', DS),
    });
  });
  afterAll(async () => {
    await reader.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('writes the members the day uses, keyed by hashes of their natural keys, and a manifest of the outputs', async () => {
    const manifest = await buildTask('build-dimensions', deps(), DS);

    expect(await dim('dim_region', `model/dim_region/ds=${DS}/`, 'name')).toEqual([
      { region_key: md5('Prague'), name: 'Prague' },
      { region_key: md5('Turin'), name: 'Turin' },
    ]);
    expect(await dim('dim_datasource', `model/dim_datasource/ds=${DS}/`, 'name')).toEqual([
      { datasource_key: md5('baba_car'), name: 'baba_car' },
      { datasource_key: md5('cheap_mobile'), name: 'cheap_mobile' },
      { datasource_key: md5('funny_car'), name: 'funny_car' },
    ]);
    expect(await dim('dim_date', `model/dim_date/ds=${DS}/`, 'date_key')).toEqual([
      { date_key: 20180528, calendar_date: '2018-05-28', year: 2018, month: 5, day: 28, iso_day_of_week: 1, iso_year: 2018, iso_week: 22, week_start_date: '2018-05-28' },
      { date_key: 20181231, calendar_date: '2018-12-31', year: 2018, month: 12, day: 31, iso_day_of_week: 1, iso_year: 2019, iso_week: 1, week_start_date: '2018-12-31' },
    ]);
    const hours = await dim('dim_time_of_day', `model/dim_time_of_day/ds=${DS}/`, 'hour_of_day');
    expect(hours).toHaveLength(24);
    expect([hours[0], hours[9], hours[12], hours[23]]).toEqual([
      { time_of_day_key: 0, hour_of_day: 0, label: '00:00-01:00', day_part: 'night' },
      { time_of_day_key: 9, hour_of_day: 9, label: '09:00-10:00', day_part: 'morning' },
      { time_of_day_key: 12, hour_of_day: 12, label: '12:00-13:00', day_part: 'afternoon' },
      { time_of_day_key: 23, hour_of_day: 23, label: '23:00-24:00', day_part: 'evening' },
    ]);
    const prague = md5('Prague');
    expect(await dim('dim_trip_group', `model/dim_trip_group/ds=${DS}/`, 'origin_cell_x desc, time_bucket')).toEqual([
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
    expect(await store.getJson<TaskManifest>('lake', manifestKey('build_dimensions', DS))).toEqual(manifest);
  });

  it('puts the grid settings into the groups, so other settings give other keys', async () => {
    await buildTask('build-dimensions', deps({ TRIPS_GRID_CELL_DEG: '0.1', TRIPS_TIME_BUCKET_MINUTES: '120' }), DS);
    const groups = await dim('dim_trip_group', `model/dim_trip_group/ds=${DS}/`, 'origin_cell_x desc, time_bucket');
    const prague = md5('Prague');
    // 09:03, 09:59 and 10:00 all fall in the 08:00-10:00 bucket (4) but for 10:00 (5).
    expect(groups.slice(0, 2)).toEqual([
      { trip_group_key: md5(`${prague}|144|500|144|500|4|0.1|120`), region_key: prague, origin_cell_x: 144, origin_cell_y: 500, dest_cell_x: 144, dest_cell_y: 500, time_bucket: 4, cell_size_deg: 0.1, bucket_minutes: 120 },
      expect.objectContaining({ time_bucket: 5, trip_group_key: md5(`${prague}|144|500|144|500|5|0.1|120`) }),
    ]);
  });

  it('leaves exactly the state of one run when run twice', async () => {
    const first = await buildTask('build-dimensions', deps(), DS);
    const keys = (await store.listAll('lake', 'model/')).map((o) => o.key);
    const groups = await dim('dim_trip_group', `model/dim_trip_group/ds=${DS}/`, 'trip_group_key');
    const second = await buildTask('build-dimensions', deps(), DS);
    expect((await store.listAll('lake', 'model/')).map((o) => o.key)).toEqual(keys);
    expect(keys).toHaveLength(5);
    expect(await dim('dim_trip_group', `model/dim_trip_group/ds=${DS}/`, 'trip_group_key')).toEqual(groups);
    expect(second.outputs).toEqual(first.outputs);
    expect(second.rows).toEqual(first.rows);
  });

  it('fails with a data error naming the clean partition when clean-stage has not run for the day', async () => {
    await expect(buildTask('build-dimensions', deps(), '2018-06-01')).rejects.toThrow(DataError);
    const manifest = await store.getJson<TaskManifest>('lake', manifestKey('build_dimensions', '2018-06-01'));
    expect(manifest?.status).toBe('failed');
    expect(manifest?.error).toContain('no objects under s3://lake/clean/trips/ds=2018-06-01/');
  });
});
