import type { TaskManifest } from '@trips/core';
import { createEngine } from '@trips/engine';
import { gridVars, type GridSettings } from '@trips/models';
import { describeRef, taskOfApp, type DataRef } from '@trips/pipeline';
import { buildLayer, type BuildDeps } from './build-layer';
import { modelSettings } from './settings';
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

/** The CLI of a model task: its engine is TRIPS_ENGINE's; its help says what the definition says it does and writes. */
export function runModelTask(app: string): void {
  const task = taskOfApp(app);
  const where = (io: DataRef[]) => io.map((r) => describeRef(r).replace(/^lake:/, 's3://LAKE/').replace('{{ ds }}', 'D')).join(', ');
  runPipelineTask({
    app,
    description: `${task.description} Reads ${where(task.reads)}; writes ${where(task.writes)} for --ds D, each checked against its contract.`,
    settings: modelSettings,
    run: ({ ds, runId, cfg, store, buckets, logger, progress, signal }) => buildTask(app, { store, buckets, openEngine: () => createEngine(cfg, store, logger, signal), grid: cfg, runId, logger, progress }, ds),
  });
}
