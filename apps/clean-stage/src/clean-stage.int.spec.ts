import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, createLogger, DataError, loadConfig, type TaskManifest } from '@trips/core';
import { createEngine, engineSettings, type QueryEngine } from '@trips/engine';
import { manifestKey, columnNames, table } from '@trips/pipeline';
import { buildTask } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';

const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };
const A = 'trips/ingest_date=2018-05-28/a.csv';
const B = 'trips/ingest_date=2018-05-28/b.csv';
const PRAGUE_O = 'POINT (14.4973794438195 50.00136875782316)';
const PRAGUE_D = 'POINT (14.43109483523328 50.04052930943246)';

const csv = (rows: string[][]) => [columnNames(table('validated_trips')).join(','), ...rows.map((r) => r.map((v) => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(','))].join('\n') + '\n';
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

describe('clean-stage against a real S3 server and DuckDB', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let reader: QueryEngine;
  const config = () => loadConfig({ ...baseSettings, ...engineSettings }, { TRIPS_WORK_DIR: work });
  const deps = () => ({ store, buckets, openEngine: () => createEngine(config(), store), logger: createLogger('clean-stage', 'silent') });
  const cleanRows = () =>
    reader.query({
      sql: 'select * from clean_trips order by source_file, line_no',
      inputs: [{ name: 'clean_trips', location: { bucket: 'lake', prefix: `clean/trips/ds=${DS}/` }, format: 'parquet' }],
    });

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-clean-'));
    reader = createEngine(config(), store);
    await store.put('lake', `validated/trips/ds=${DS}/part-00000.csv`, csv([
      [A, '2', 'Prague', PRAGUE_O, PRAGUE_D, '2018-05-28 09:03:40', 'funny_car'],
      // The same trip again, spelled differently: a duplicate.
      [A, '3', '  prague ', `point(14.4973794438195   50.00136875782316)`, ` ${PRAGUE_D}`, '2018-05-28T09:03:40', ' Funny_Car '],
      [A, '4', 'Turin', 'POINT (7.672837913286881 44.9957109242058)', 'POINT (7.720368637535126 45.06782385393849)', '2018-05-28 23:59:59.250', 'baba_car'],
      [A, '5', 'hamburg', 'POINT (10.07299025213017 53.62044974829032)', 'POINT (9.787478215489936 53.536544276834)', '2018-05-27 00:00:00', 'cheap_mobile'],
    ]));
    await store.put('lake', `validated/trips/ds=${DS}/part-00001.csv`, csv([
      // Already seen in a.csv: a duplicate across files, kept from a.csv.
      [B, '2', 'Prague', PRAGUE_O, PRAGUE_D, '2018-05-28 09:03:40', 'funny_car'],
      [B, '3', '  são   PAULO ', 'POINT (-46.6 -23.5)', 'POINT (-46.7 -23.6)', '2018-05-28 12:00:00', 'cheap_mobile'],
      // Same place and time as the Turin trip but another datasource: a different trip.
      [B, '4', 'Turin', 'POINT (7.672837913286881 44.9957109242058)', 'POINT (7.720368637535126 45.06782385393849)', '2018-05-28 23:59:59', 'pt_search_app'],
    ]));
  });
  afterAll(async () => {
    await reader.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('writes one typed, normalised row per distinct trip, dropping and counting duplicates per file', async () => {
    const manifest = await buildTask('clean-stage', deps(), DS);

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
    expect(await store.getJson<TaskManifest>('lake', manifestKey('clean_stage', DS))).toEqual(manifest);
  });

  it('leaves exactly the state of one run when run twice', async () => {
    const first = await buildTask('clean-stage', deps(), DS);
    const objects = await store.listAll('lake', 'clean/');
    const rows = await cleanRows();
    const second = await buildTask('clean-stage', deps(), DS);
    // Same objects and same rows; bytes may differ, as row order within a file carries no meaning.
    expect((await store.listAll('lake', 'clean/')).map((o) => o.key)).toEqual(objects.map((o) => o.key));
    expect(objects.map((o) => o.key)).toEqual([`clean/trips/ds=${DS}/part-00000.parquet`]);
    expect(await cleanRows()).toEqual(rows);
    expect({ ...second, startedAt: 0, finishedAt: 0, durationMs: 0 }).toEqual({ ...first, startedAt: 0, finishedAt: 0, durationMs: 0 });
  });

  it('fails with a data error and a failed manifest when the day has no validated rows', async () => {
    const run = buildTask('clean-stage', deps(), '2018-05-29');
    await expect(run).rejects.toThrow(DataError);
    const manifest = await store.getJson<TaskManifest>('lake', manifestKey('clean_stage', '2018-05-29'));
    expect(manifest).toMatchObject({ status: 'failed', rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 } });
    expect(manifest?.error).toContain('no objects under s3://lake/validated/trips/ds=2018-05-29/');
  });
});
