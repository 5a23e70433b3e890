import { addCounts, DataError, emptyCounts, recordTask, s3Url, type FileAccount, type Logger, type TaskManifest } from '@trips/core';
import { manifestKey, partition, taskBuilding, taskOfApp, warehouseTables, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { WAREHOUSE_SCHEMA, type WarehouseLoader } from '@trips/warehouse';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('load-redshift').id;

export interface LoadDeps {
  /** The run this task belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  openWarehouse: () => WarehouseLoader;
  logger?: Logger;
}

/**
 * Loads the dimensions and facts of `ds` from the lake into the warehouse, each table in its own
 * transaction, dimensions first. Per table: read = rows in the lake partition, passed = rows
 * inserted, duplicates = rows already in the warehouse (dimension members, or trips loaded under
 * another ds). A rerun replaces the ds's facts and finds every dimension member present.
 */
export async function runLoadRedshift(deps: LoadDeps, ds: string): Promise<TaskManifest> {
  const { store, buckets, logger } = deps;
  return recordTask({ task: TASK, ds, runId: deps.runId, logger, save: (m) => store.putJson(buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const tables = warehouseTables();
    for (const t of tables) {
      const loc = partition(buckets, t, ds);
      const found = (await store.listAll(loc.bucket, loc.prefix)).some((o) => o.key.endsWith('.parquet'));
      if (!found) throw new DataError(`no Parquet files for ${t.id} under ${s3Url(loc)}: run ${taskBuilding(t.layer)?.app ?? 'the task that writes it'} for ds=${ds} first`);
    }
    const warehouse = deps.openWarehouse();
    const files: FileAccount[] = [];
    try {
      await warehouse.ensureSchema();
      for (const table of tables) {
        const r = await warehouse.loadTable({ table, ds, source: partition(buckets, table, ds) });
        files.push({ file: `${WAREHOUSE_SCHEMA}.${table.id}`, status: 'ok', rows: { read: r.staged, passed: r.inserted, rejected: 0, duplicates: r.skipped }, rejectedByReason: {} });
        logger?.info(r, `load-redshift: ${table.id} loaded`);
      }
    } finally {
      await warehouse.close();
    }
    return {
      rows: files.reduce((sum, f) => addCounts(sum, f.rows), emptyCounts()),
      files,
      outputs: files.map((f) => ({ location: `warehouse:${f.file}`, rows: f.rows.passed })),
    };
  });
}
