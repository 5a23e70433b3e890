import { baseSettings, loadConfig, runTaskCli } from '@trips/core';
import { resolveSettings } from '@trips/secrets';
import { createEngine, engineSettings } from '@trips/engine';
import { ObjectStore } from '@trips/storage';
import { runCleanStage, TASK } from './clean-stage';

void runTaskCli({
  name: TASK,
  description: 'Type, normalise and deduplicate the validated rows of --ds into clean Parquet (s3://LAKE/clean/trips/ds=D/).',
  async run({ ds, logger }) {
    const cfg = loadConfig({ ...baseSettings, ...engineSettings }, await resolveSettings());
    logger.level = cfg.LOG_LEVEL;
    const store = new ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
    return await runCleanStage({ store, buckets: { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET }, openEngine: () => createEngine(cfg, store, logger), logger }, ds);
  },
});
