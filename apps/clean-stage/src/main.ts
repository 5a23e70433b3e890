import { createEngine, engineSettings } from '@trips/engine';
import { runPipelineTask } from '@trips/runtime';
import { runCleanStage } from './clean-stage';

runPipelineTask({
  app: 'clean-stage',
  description: 'Type, normalise and deduplicate the validated rows of --ds into clean Parquet (s3://LAKE/clean/trips/ds=D/).',
  settings: engineSettings,
  run: ({ ds, runId, cfg, store, buckets, logger }) => runCleanStage({ store, buckets, runId, openEngine: () => createEngine(cfg, store, logger), logger }, ds),
});
