import { addCounts, DataError, emptyCounts, recordTask, s3Url, type FileAccount, type Logger, type Progress, type TaskManifest } from '@trips/core';
import { copyManifestKey, manifestKey, partition, taskBuilding, taskOfApp, warehouseTables, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { checkedLoadFiles, copyManifest, WAREHOUSE_SCHEMA, type LoadRequest, type LoadResult, type WarehouseLoader } from '@trips/warehouse';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('load-redshift').id;

export interface LoadDeps {
  /** The run this task belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  openWarehouse: () => WarehouseLoader;
  logger?: Logger;
  progress?: Progress;
}

/**
 * Loads the dimensions and facts of `ds` from the lake into the warehouse, each table in its own
 * transaction, dimensions first (the facts' rows are staged meanwhile, on a second connection).
 * Per table: read = rows in the lake partition, passed = rows inserted, duplicates = rows already
 * in the warehouse (dimension members, or trips loaded under another ds). A rerun replaces the ds's facts and finds every dimension member present.
 */
export async function runLoadRedshift(deps: LoadDeps, ds: string): Promise<TaskManifest> {
  const { store, buckets, logger } = deps;
  return recordTask({ task: TASK, ds, runId: deps.runId, logger, save: (m) => store.putJson(buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const tables = warehouseTables();
    // Every table's files are listed and checked against the catalog before anything is loaded.
    const sources: LoadRequest[] = [];
    for (const table of tables) {
      const source = partition(buckets, table, ds);
      const files = await checkedLoadFiles(store, table, source);
      if (files.length === 0) throw new DataError(`no data files for ${table.id} under ${s3Url(source)}: run ${taskBuilding(table.layer)?.app ?? 'the task that writes it'} for ds=${ds} first`);
      const manifest = { bucket: buckets.lake, key: copyManifestKey(TASK, table.id, ds) };
      await store.put(manifest.bucket, manifest.key, copyManifest(source.bucket, files), 'application/json');
      sources.push({ table, ds, source, files, manifest, progress: deps.progress });
    }
    const warehouse = deps.openWarehouse();
    // The facts on a connection of their own: their lake rows are staged while the dimensions load,
    // and they change the warehouse only after every dimension has committed, so no fact row ever
    // names a member the warehouse does not hold yet.
    let factWarehouse: WarehouseLoader | undefined;
    const results: LoadResult[] = [];
    try {
      await warehouse.ensureSchema();
      const loadOne = async (i: number, on: WarehouseLoader, after?: Promise<unknown>) => {
        const request = { ...sources[i], after };
        const bytes = request.files.reduce((s, f) => s + f.size, 0);
        const stage = deps.progress?.stage(`loading ${request.table.id} (table ${i + 1} of ${sources.length})`, { bytes });
        const r = await on.loadTable(request);
        stage?.advance({ rows: r.staged, bytes });
        stage?.done();
        logger?.info(r, `load-redshift: ${request.table.id} loaded`);
        results[i] = r;
      };
      const order = sources.map((_, i) => i);
      const dimensions = order.filter((i) => sources[i].table.warehouse.load === 'merge');
      const rest = order.filter((i) => sources[i].table.warehouse.load !== 'merge');
      const dimensionsLoaded = (async () => {
        for (const i of dimensions) await loadOne(i, warehouse);
      })();
      dimensionsLoaded.catch(() => undefined); // awaited below; the facts see the failure through `after`
      factWarehouse = deps.openWarehouse();
      const facts = factWarehouse;
      const factsLoaded = (async () => {
        for (const i of rest) await loadOne(i, facts, dimensionsLoaded);
      })();
      // A dimension's failure is the one to report; the facts then stop before changing anything.
      const [dims, fact] = await Promise.allSettled([dimensionsLoaded, factsLoaded]);
      if (dims.status === 'rejected') throw dims.reason;
      if (fact.status === 'rejected') throw fact.reason;
      // Upkeep once everything has committed (a transaction open meanwhile would keep PostgreSQL's
      // vacuum from marking the day's pages all-visible). The day is loaded whatever it does: a
      // failure is a warning, and the next load's upkeep does its work.
      if (warehouse.afterLoads) {
        const started = Date.now();
        await warehouse.afterLoads(tables, deps.progress).then(
          () => logger?.info({ ms: Date.now() - started }, 'load-redshift: warehouse upkeep done'),
          (e: Error) => logger?.warn({ err: e.message }, `load-redshift: the warehouse upkeep after the load failed (the day is loaded): ${e.message}`),
        );
      }
    } finally {
      await Promise.all([warehouse.close(), factWarehouse?.close()]);
    }
    const files: FileAccount[] = results.map((r) => ({ file: `${WAREHOUSE_SCHEMA}.${r.table}`, status: 'ok', rows: { read: r.staged, passed: r.inserted, rejected: 0, duplicates: r.skipped }, rejectedByReason: {} }));
    return {
      rows: files.reduce((sum, f) => addCounts(sum, f.rows), emptyCounts()),
      files,
      outputs: files.map((f) => ({ location: `warehouse:${f.file}`, rows: f.rows.passed })),
    };
  });
}
