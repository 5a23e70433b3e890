import { runPipelineTask } from '@trips/runtime';
import { createWarehouse, warehouseSettings } from '@trips/warehouse';
import { runLoadRedshift } from './load-redshift';

runPipelineTask({
  app: 'load-redshift',
  description: 'Loads the dimensions and facts of --ds from the lake into the warehouse, one transaction per table.',
  settings: warehouseSettings,
  // Built before any work so a missing warehouse setting stops the task at once, naming it.
  prepare: ({ cfg, store, logger, signal }) => createWarehouse(cfg, store, logger, signal),
  run: ({ ds, runId, store, buckets, logger, progress }, warehouse) => runLoadRedshift({ store, buckets, runId, openWarehouse: () => warehouse, logger, progress }, ds),
});
