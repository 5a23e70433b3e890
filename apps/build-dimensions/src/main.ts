import { createEngine, engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { runPipelineTask } from '@trips/runtime';
import { runBuildDimensions } from './build-dimensions';

runPipelineTask({
  app: 'build-dimensions',
  description: 'Write the dimension members of the clean trips of --ds to s3://LAKE/model/dim_*/ds=D/ and check their contracts.',
  settings: { ...engineSettings, ...gridSettings },
  run: ({ ds, runId, cfg, store, buckets, logger }) => runBuildDimensions({ store, buckets, runId, openEngine: () => createEngine(cfg, store, logger), grid: cfg, logger }, ds),
});
