import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, loadConfig, type TaskManifest } from '@trips/core';
import { AthenaEngine, createEngine, engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { awsToolsPython, startS3Server, type LocalS3 } from '@trips/local';
import { PIPELINE, partition, tablesOf, type Layer } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { fakeAthenaClient, lakeGlueTables, validatedParquet, validatedSampleRows } from '@trips/testing';
import { buildTask } from './model-task';

// Every model task with TRIPS_ENGINE=athena on the committed sample: the Athena API mocked and
// answered by a fake that runs each statement through sqlglot (Trino to DuckDB) and DuckDB over the
// real S3 server's objects. Each task must write exactly what the DuckDB engine writes, with the
// same accounting; the contract checks run through Athena too.
const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };
const MODEL_TASKS = PIPELINE.tasks.filter((t) => t.builds);

describe('the model tasks on Athena (API mocked, statements run through sqlglot and DuckDB)', () => {
  const python = awsToolsPython();
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let athena: ReturnType<typeof fakeAthenaClient> | undefined;
  const config = () => loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, { TRIPS_WORK_DIR: work });
  const duck = () => createEngine(config(), store);
  /** Every row each table of the layer holds for the day, as DuckDB reads it back. */
  const layerRows = async (layer: Layer) => {
    const engine = duck();
    try {
      const out: Record<string, unknown[]> = {};
      for (const t of tablesOf(layer)) out[t.id] = await engine.query({ sql: `select * from ${t.id} order by 1`, inputs: [{ name: t.id, location: partition(buckets, t, DS), format: 'parquet' }] });
      return out;
    } finally {
      await engine.close();
    }
  };

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-athena-'));
    await store.put('lake', `validated/trips/ds=${DS}/part-00000.parquet`, await validatedParquet(validatedSampleRows()));
  });
  afterAll(async () => {
    await athena?.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it.each(MODEL_TASKS.map((t) => [t.app, t.builds as Layer]))('%s writes and accounts for what the DuckDB engine does', async (app, layer) => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    // In definition order: each task reads what the one before wrote, on DuckDB.
    const onDuck = await buildTask(app, { store, buckets, openEngine: duck, grid: config() }, DS);
    const duckRows = await layerRows(layer);

    athena = fakeAthenaClient({ store, database: 'trips_lake', tables: lakeGlueTables(buckets), python });
    const { client, fake } = athena;
    const openEngine = () => new AthenaEngine({ timeoutMs: 1_800_000, client, store, workgroup: 'trips', database: 'trips_lake', sleep: async () => undefined });
    try {
      const onAthena = await buildTask(app, { store, buckets, openEngine, grid: config() }, DS);
      const accounting = (m: TaskManifest) => ({ status: m.status, rows: m.rows, files: m.files, outputs: m.outputs });
      expect(accounting(onAthena)).toEqual(accounting(onDuck));
      expect(onAthena.rows.passed).toBe(1968);
      expect(await layerRows(layer)).toEqual(duckRows);
      const unloads = fake.statements.filter((s) => s.startsWith('UNLOAD'));
      expect(unloads).toHaveLength(tablesOf(layer).length);
      // One WITH list (Trino allows no second): the inputs' CTEs join the model's own, each scoped to the ds.
      for (const u of unloads) expect(u.match(/^\s*with\s/gim)?.length ?? 0).toBeLessThanOrEqual(1);
      if (layer === 'facts') expect(fake.statements.some((s) => s.includes(`from "trips_lake"."dim_trip_group" where ds = '${DS}'`))).toBe(true);
    } finally {
      await athena.close();
      athena = undefined;
    }
  }, 300_000);
});
