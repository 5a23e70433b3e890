import { baseSettings, loadConfig, runTaskCli, UsageError } from '@trips/core';
import { resolveSettings } from '@trips/secrets';
import { ObjectStore } from '@trips/storage';
import { runValidateRaw, TASK } from './validate-raw';

void runTaskCli({
  name: TASK,
  description: 'Checks the raw files of a day and splits their rows into validated and quarantined (with reasons).',
  options: { 'max-reject-ratio': { type: 'string', description: 'fail above this share of rejected rows, 0..1 (overrides TRIPS_MAX_REJECT_RATIO)' } },
  async run({ ds, options, logger }) {
    const cfg = loadConfig(baseSettings, await resolveSettings());
    logger.level = cfg.LOG_LEVEL;
    let maxRejectRatio = cfg.TRIPS_MAX_REJECT_RATIO;
    if (options['max-reject-ratio'] !== undefined) {
      maxRejectRatio = Number(options['max-reject-ratio']);
      if (!(maxRejectRatio >= 0 && maxRejectRatio <= 1)) throw new UsageError(`--max-reject-ratio must be a number in [0, 1], got "${options['max-reject-ratio']}"`);
    }
    const store = new ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
    return await runValidateRaw({ store, buckets: { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET }, workDir: cfg.TRIPS_WORK_DIR, maxRejectRatio, logger }, ds);
  },
});
