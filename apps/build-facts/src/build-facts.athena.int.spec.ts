import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, loadConfig, type TaskManifest } from '@trips/core';
import { AthenaEngine, createEngine, engineSettings } from '@trips/engine';
import { gridSettings, gridVars } from '@trips/models';
import { partition } from '@trips/pipeline';
import { buildLayer } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';
import { awsToolsPython, startS3Server, type LocalS3 } from '@trips/local';
import { fakeAthenaClient, lakeGlueTables, validatedSampleCsv } from '@trips/testing';
import { runBuildFacts } from './build-facts';

// build-facts with TRIPS_ENGINE=athena on the committed sample: the Athena API mocked and answered
// by a fake that runs each statement through sqlglot (Trino to DuckDB) and DuckDB over the real S3
// server. The facts and the accounting must equal the DuckDB engine's, and the contract's
// relationship checks run against the day's dimensions.
const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };

describe('build-facts on Athena (API mocked, statements run through sqlglot and DuckDB)', () => {
  const python = awsToolsPython();
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let athena: ReturnType<typeof fakeAthenaClient> | undefined;
  const config = () => loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, { TRIPS_WORK_DIR: work });
  const duck = () => createEngine(config(), store);
  const factRows = async () => {
    const engine = duck();
    try {
      return await engine.query({ sql: 'select * from fact_trips order by trip_id', inputs: [{ name: 'fact_trips', location: partition(buckets, 'fact_trips', DS), format: 'parquet' }] });
    } finally {
      await engine.close();
    }
  };

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-facts-athena-'));
    await store.put('lake', `validated/trips/ds=${DS}/part-00000.csv`, validatedSampleCsv());
    // The layers it reads, built on DuckDB.
    for (const layer of ['staging', 'dimensions'] as const) await buildLayer({ store, buckets, openEngine: duck, vars: gridVars(config()), task: 'setup' }, layer, DS);
  });
  afterAll(async () => {
    await athena?.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('writes the same facts with the same accounting as the DuckDB engine', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    const onDuck = await runBuildFacts({ store, buckets, openEngine: duck, grid: config() }, DS);
    const duckRows = await factRows();

    athena = fakeAthenaClient({ store, database: 'trips_lake', tables: lakeGlueTables(buckets), python });
    const { client, fake: f } = athena;
    const openEngine = () => new AthenaEngine({ timeoutMs: 1_800_000, client, store, workgroup: 'trips', database: 'trips_lake', sleep: async () => undefined });

    const onAthena = await runBuildFacts({ store, buckets, openEngine, grid: config() }, DS);

    const accounting = (m: TaskManifest) => ({ status: m.status, rows: m.rows, files: m.files, outputs: m.outputs });
    expect(accounting(onAthena)).toEqual(accounting(onDuck));
    expect(onAthena.rows.passed).toBe(1968);
    expect(await factRows()).toEqual(duckRows);
    // The relationship checks joined the day's dimensions, each scoped to the ds partition.
    expect(f.statements.some((s) => s.includes(`from "trips_lake"."dim_trip_group" where ds = '${DS}'`))).toBe(true);
  }, 300_000);
});
