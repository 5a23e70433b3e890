import { createEngine, engineSettings } from '@trips/engine';
import { gridSettings } from '@trips/models';
import { runPipelineTask } from '@trips/runtime';
import { runBuildFacts } from './build-facts';

runPipelineTask({
  app: 'build-facts',
  description: 'Write fact_trips for the clean trips of --ds to s3://LAKE/model/fact_trips/ds=D/ and check it joins the dimensions of that ds.',
  settings: { ...engineSettings, ...gridSettings },
  run: ({ ds, runId, cfg, store, buckets, logger }) => runBuildFacts({ store, buckets, runId, openEngine: () => createEngine(cfg, store, logger), grid: cfg, logger }, ds),
});
