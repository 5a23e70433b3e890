import { recordTask, type Logger, type TaskManifest } from '@trips/core';
import type { DatasetRef, QueryEngine } from '@trips/engine';
import { checkContract, DIMENSIONS, gridVars, MODELS, renderModel, type GridSettings } from '@trips/models';
import { manifestKey, partition, s3Url, SCHEMAS, type Buckets, type LakeTable, taskOfApp } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('build-dimensions').id;

type Dimension = (typeof DIMENSIONS)[number];

/** Lake table (and schema) of each dimension model. */
export const DIMENSION_TABLES = {
  dim_region: 'dimRegion',
  dim_datasource: 'dimDatasource',
  dim_date: 'dimDate',
  dim_time_of_day: 'dimTimeOfDay',
  dim_trip_group: 'dimTripGroup',
} as const satisfies Record<Dimension, LakeTable & keyof typeof SCHEMAS>;

export interface BuildDimensionsDeps {
  /** The run this task belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  /** Opens the query engine; the task closes it when done. */
  openEngine: () => QueryEngine;
  grid: GridSettings;
  logger?: Logger;
}

/**
 * Writes the dimension members the day's clean trips use to s3://LAKE/model/<dim>/ds=D/ (one
 * partition per dimension, replaced; the warehouse merges the days), then checks each contract.
 * Rows read and passed are the clean rows; the outputs list each dimension's row count.
 */
export async function runBuildDimensions(deps: BuildDimensionsDeps, ds: string): Promise<TaskManifest> {
  return recordTask({ task: TASK, ds, runId: deps.runId, logger: deps.logger, save: (m) => deps.store.putJson(deps.buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const engine = deps.openEngine();
    try {
      const clean: DatasetRef = { name: 'clean_trips', location: partition(deps.buckets, 'clean', ds), format: 'parquet', partition: { ds } };
      const vars = gridVars(deps.grid);
      const outputs = [];
      for (const dim of DIMENSIONS) {
        const target = partition(deps.buckets, DIMENSION_TABLES[dim], ds);
        const inputs = MODELS[dim].inputs.length > 0 ? [clean] : [];
        const written = await engine.writeParquet({ sql: renderModel(dim, engine.dialect, vars), inputs, target, table: dim });
        outputs.push({ location: s3Url(target), rows: written.rows });
      }
      const related = { dim_region: partition(deps.buckets, 'dimRegion', ds) };
      for (const dim of DIMENSIONS) {
        const table = DIMENSION_TABLES[dim];
        await checkContract(engine, MODELS[dim].contract, partition(deps.buckets, table, ds), { columns: SCHEMAS[table].columns, related });
      }
      const [{ n }] = await engine.query<{ n: number }>({ sql: 'select count(*) as n from clean_trips', inputs: [clean] });
      const rows = { read: n, passed: n, rejected: 0, duplicates: 0 };
      return { rows, files: [{ file: s3Url(clean.location), status: 'ok', rows, rejectedByReason: {} }], outputs };
    } finally {
      await engine.close();
    }
  });
}
