import { recordTask, ContractError, type Logger, type TaskManifest } from '@trips/core';
import type { DatasetRef, QueryEngine } from '@trips/engine';
import { checkContract, gridVars, MODELS, renderModel, type GridSettings } from '@trips/models';
import { manifestKey, partition, s3Url, SCHEMAS, type Buckets, taskOfApp } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('build-facts').id;

export interface BuildFactsDeps {
  /** The run this task belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  /** Opens the query engine; the task closes it when done. */
  openEngine: () => QueryEngine;
  /** Must be the settings build-dimensions ran with, or group keys will not join. */
  grid: GridSettings;
  logger?: Logger;
}

/**
 * Writes fact_trips for the day's clean trips to s3://LAKE/model/fact_trips/ds=D/ (replaced), then
 * checks its contract, including that every key exists in the dimensions written for the same ds.
 * Rows read are the clean rows, passed the fact rows: one per clean trip.
 */
export async function runBuildFacts(deps: BuildFactsDeps, ds: string): Promise<TaskManifest> {
  return recordTask({ task: TASK, ds, runId: deps.runId, logger: deps.logger, save: (m) => deps.store.putJson(deps.buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const engine = deps.openEngine();
    try {
      const clean: DatasetRef = { name: 'clean_trips', location: partition(deps.buckets, 'clean', ds), format: 'parquet', partition: { ds } };
      const target = partition(deps.buckets, 'factTrips', ds);
      const written = await engine.writeParquet({ sql: renderModel('fact_trips', engine.dialect, gridVars(deps.grid)), inputs: [clean], target, table: 'fact_trips' });
      const [{ n }] = await engine.query<{ n: number }>({ sql: 'select count(*) as n from clean_trips', inputs: [clean] });
      if (written.rows !== n) throw new ContractError(`${TASK}: fact_trips has ${written.rows} rows for ds=${ds}, but clean_trips has ${n}; one fact per trip`);
      const related = {
        dim_region: partition(deps.buckets, 'dimRegion', ds),
        dim_datasource: partition(deps.buckets, 'dimDatasource', ds),
        dim_date: partition(deps.buckets, 'dimDate', ds),
        dim_time_of_day: partition(deps.buckets, 'dimTimeOfDay', ds),
        dim_trip_group: partition(deps.buckets, 'dimTripGroup', ds),
      };
      await checkContract(engine, MODELS.fact_trips.contract, target, { columns: SCHEMAS.factTrips.columns, related });
      return {
        rows: { read: n, passed: written.rows, rejected: 0, duplicates: 0 },
        files: [{ file: s3Url(clean.location), status: 'ok', rows: { read: n, passed: written.rows, rejected: 0, duplicates: 0 }, rejectedByReason: {} }],
        outputs: [{ location: s3Url(target), rows: written.rows }],
      };
    } finally {
      await engine.close();
    }
  });
}
