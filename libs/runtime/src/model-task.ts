import type { TaskManifest } from '@trips/core';
import { createEngine, engineSettings } from '@trips/engine';
import { gridSettings, gridVars, type GridSettings } from '@trips/models';
import { taskOfApp } from '@trips/pipeline';
import { buildLayer, type BuildDeps } from './build-layer';
import { runPipelineTask } from './pipeline-task';

/**
 * The work of a task that builds a layer of models (clean-stage, build-dimensions, build-facts):
 * the pipeline definition says which layer (`builds`), the catalog which models and how to account
 * for their rows; the models' variables are the grid settings.
 */
export function buildTask(app: string, deps: Omit<BuildDeps, 'task' | 'vars'> & { grid?: GridSettings }, ds: string): Promise<TaskManifest> {
  const task = taskOfApp(app);
  if (!task.builds) throw new Error(`task ${task.id} builds no layer of models (pipeline definition)`);
  return buildLayer({ ...deps, vars: deps.grid ? gridVars(deps.grid) : undefined, task: task.id }, task.builds, ds);
}

/** The CLI of a model task: its engine is TRIPS_ENGINE's. */
export function runModelTask(spec: { app: string; description: string }): void {
  runPipelineTask({
    app: spec.app,
    description: spec.description,
    settings: { ...engineSettings, ...gridSettings },
    run: ({ ds, runId, cfg, store, buckets, logger, signal }) => buildTask(spec.app, { store, buckets, openEngine: () => createEngine(cfg, store, logger, signal), grid: cfg, runId, logger }, ds),
  });
}
