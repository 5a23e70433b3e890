import { baseSettings, loadConfig, runTaskCli } from '@trips/core';
import { resolveSettings } from '@trips/secrets';
import { ObjectStore } from '@trips/storage';
import { createWarehouse, warehouseSettings } from '@trips/warehouse';
import { runLoadRedshift, TASK } from './load-redshift';

void runTaskCli({
  name: TASK,
  description: 'Loads the dimensions and facts of --ds from the lake into the warehouse, one transaction per table.',
  async run({ ds, logger }) {
    const cfg = loadConfig({ ...baseSettings, ...warehouseSettings }, await resolveSettings());
    logger.level = cfg.LOG_LEVEL;
    const store = new ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
    // Built before any work so a missing warehouse setting stops the task at once, naming it.
    const warehouse = createWarehouse(cfg, store, logger);
    return await runLoadRedshift({ store, buckets: { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET }, openWarehouse: () => warehouse, logger }, ds);
  },
});
