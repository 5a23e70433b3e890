import { createEngine, engineSettings } from '@trips/engine';
import { gridSettings, gridVars } from '@trips/models';
import { taskOfApp } from '@trips/pipeline';
import { buildLayer } from './build-layer';
import { runPipelineTask } from './pipeline-task';

/**
 * The CLI of a task that builds a layer of models (clean-stage, build-dimensions, build-facts): the
 * pipeline definition says which layer (`builds`), the catalog which models and how to account for
 * their rows. The engine is TRIPS_ENGINE's; the models' variables are the grid settings.
 */
export function runModelTask(spec: { app: string; description: string }): void {
  const task = taskOfApp(spec.app);
  const layer = task.builds;
  if (!layer) throw new Error(`task ${task.id} builds no layer of models (pipeline definition)`);
  runPipelineTask({
    app: spec.app,
    description: spec.description,
    settings: { ...engineSettings, ...gridSettings },
    run: ({ ds, runId, cfg, store, buckets, logger, signal }) =>
      buildLayer({ store, buckets, openEngine: () => createEngine(cfg, store, logger, signal), vars: gridVars(cfg), task: task.id, runId, logger }, layer, ds),
  });
}
