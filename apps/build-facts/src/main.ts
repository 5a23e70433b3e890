import { baseSettings, loadConfig, runTaskCli } from '@trips/core';
import { resolveSettings } from '@trips/secrets';
import { createEngine, engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { ObjectStore } from '@trips/storage';
import { runBuildFacts, TASK } from './build-facts';

void runTaskCli({
  name: TASK,
  description: 'Write fact_trips for the clean trips of --ds to s3://LAKE/model/fact_trips/ds=D/ and check it joins the dimensions of that ds.',
  async run({ ds, logger }) {
    const cfg = loadConfig({ ...baseSettings, ...engineSettings, ...gridSettings }, await resolveSettings());
    logger.level = cfg.LOG_LEVEL;
    const store = new ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
    const buckets = { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET };
    return await runBuildFacts({ store, buckets, openEngine: () => createEngine(cfg, store, logger), grid: cfg, logger }, ds);
  },
});
