import { baseSettings, loadConfig, runTaskCli } from '@trips/core';
import { resolveSettings } from '@trips/secrets';
import { createEngine, engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { ObjectStore } from '@trips/storage';
import { runBuildDimensions, TASK } from './build-dimensions';

void runTaskCli({
  name: TASK,
  description: 'Write the dimension members of the clean trips of --ds to s3://LAKE/model/dim_*/ds=D/ and check their contracts.',
  async run({ ds, logger }) {
    const cfg = loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, await resolveSettings());
    logger.level = cfg.LOG_LEVEL;
    const store = new ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
    const buckets = { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET };
    return await runBuildDimensions({ store, buckets, openEngine: () => createEngine(cfg, store, logger), grid: cfg, logger }, ds);
  },
});
