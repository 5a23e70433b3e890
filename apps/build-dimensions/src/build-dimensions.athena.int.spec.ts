import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseSettings, loadConfig, type TaskManifest } from '@trips/core';
import { AthenaEngine, createEngine, engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { partition, tablesOf } from '@trips/pipeline';
import { buildLayer } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';
import { awsToolsPython, startS3Server, type LocalS3 } from '@trips/local';
import { fakeAthenaClient, lakeGlueTables, validatedSampleCsv } from '@trips/testing';
import { runBuildDimensions } from './build-dimensions';

// build-dimensions with TRIPS_ENGINE=athena on the committed sample: the Athena API mocked and
// answered by a fake that runs each statement through sqlglot (Trino to DuckDB) and DuckDB over the
// real S3 server. Outputs and accounting must equal the DuckDB engine's.
const DS = '2018-05-28';
const buckets = { raw: 'raw', lake: 'lake' };

describe('build-dimensions on Athena (API mocked, statements run through sqlglot and DuckDB)', () => {
  const python = awsToolsPython();
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  let athena: ReturnType<typeof fakeAthenaClient> | undefined;
  const config = () => loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, { TRIPS_WORK_DIR: work });
  const duck = () => createEngine(config(), store);
  const dimensionRows = async () => {
    const engine = duck();
    try {
      const out: Record<string, unknown[]> = {};
      for (const dim of tablesOf('dimensions')) {
        out[dim.id] = await engine.query({ sql: `select * from ${dim.id} order by 1`, inputs: [{ name: dim.id, location: partition(buckets, dim, DS), format: 'parquet' }] });
      }
      return out;
    } finally {
      await engine.close();
    }
  };

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'trips-dims-athena-'));
    await store.put('lake', `validated/trips/ds=${DS}/part-00000.csv`, validatedSampleCsv());
    // The layer it reads, built on DuckDB.
    await buildLayer({ store, buckets, openEngine: duck, task: 'setup' }, 'staging', DS);
  });
  afterAll(async () => {
    await athena?.close();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('writes the same dimension members with the same accounting as the DuckDB engine', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    const onDuck = await runBuildDimensions({ store, buckets, openEngine: duck, grid: config() }, DS);
    const duckRows = await dimensionRows();

    athena = fakeAthenaClient({ store, database: 'trips_lake', tables: lakeGlueTables(buckets), python });
    const { client, fake: f } = athena;
    const openEngine = () => new AthenaEngine({ timeoutMs: 1_800_000, client, store, workgroup: 'trips', database: 'trips_lake', sleep: async () => undefined });

    const onAthena = await runBuildDimensions({ store, buckets, openEngine, grid: config() }, DS);

    const accounting = (m: TaskManifest) => ({ status: m.status, rows: m.rows, outputs: m.outputs });
    expect(accounting(onAthena)).toEqual(accounting(onDuck));
    expect(onAthena.rows.read).toBe(1968);
    expect(await dimensionRows()).toEqual(duckRows);
    expect(f.statements.filter((s) => s.startsWith('UNLOAD'))).toHaveLength(tablesOf('dimensions').length);
  }, 300_000);
});

