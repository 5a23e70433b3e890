import { UsageError } from '@trips/core';
import { runPipelineTask, validateSettings } from '@trips/runtime';
import { runValidateRaw } from './validate-raw';
import { tripDateRange } from './settings';

runPipelineTask({
  app: 'validate-raw',
  description: 'Checks the raw files of a day and splits their rows into validated and quarantined (with reasons).',
  options: { 'max-reject-ratio': { type: 'string', description: 'fail above this share of rejected rows, 0..1 (overrides TRIPS_MAX_REJECT_RATIO)' } },
  settings: validateSettings,
  async run({ ds, runId, cfg, store, buckets, options, logger, progress }) {
    let maxRejectRatio = cfg.TRIPS_MAX_REJECT_RATIO;
    if (options['max-reject-ratio'] !== undefined) {
      maxRejectRatio = Number(options['max-reject-ratio']);
      if (!(maxRejectRatio >= 0 && maxRejectRatio <= 1)) throw new UsageError(`--max-reject-ratio must be a number in [0, 1], got "${options['max-reject-ratio']}"`);
    }
    return runValidateRaw({ store, buckets, runId, workDir: cfg.TRIPS_WORK_DIR, maxRejectRatio, tripDates: tripDateRange(cfg, ds), logger, progress }, ds);
  },
});
