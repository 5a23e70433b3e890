import { runPipelineTask } from '@trips/runtime';
import { createWarehouse, warehouseSettings, type WarehouseLoader } from '@trips/warehouse';
import { runLoadRedshift } from './load-redshift';

runPipelineTask({
  app: 'load-redshift',
  description: 'Loads the dimensions and facts of --ds from the lake into the warehouse, one transaction per table.',
  settings: warehouseSettings,
  // Built before any work so a missing warehouse setting stops the task at once, naming it.
  prepare: ({ cfg, store, logger, signal }) => createWarehouse(cfg, store, logger, signal),
  run: ({ ds, runId, store, buckets, logger, progress, cfg, signal }, prepared) => {
    // The first warehouse is the one prepared; each further one is its own connection (the facts load beside the dimensions).
    let first: WarehouseLoader | undefined = prepared;
    const openWarehouse = () => {
      const w = first ?? createWarehouse(cfg, store, logger, signal);
      first = undefined;
      return w;
    };
    return runLoadRedshift({ store, buckets, runId, openWarehouse, logger, progress }, ds);
  },
});
