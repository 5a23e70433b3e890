import type { Logger, TaskManifest } from '@trips/core';
import type { QueryEngine } from '@trips/engine';
import { taskOfApp, type Buckets } from '@trips/pipeline';
import { buildLayer } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';

/** This app's task in the pipeline definition: its manifest folder and the layer it builds. */
const TASK = taskOfApp('clean-stage');

export interface CleanStageDeps {
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  openEngine: () => QueryEngine;
  logger?: Logger;
}

/**
 * Types, normalises and deduplicates the day's validated rows into clean Parquet (the staging
 * layer of the catalog), replacing that partition. Rows read are the validated rows; passed are the
 * clean rows; the difference are duplicates, counted per source file.
 */
export function runCleanStage(deps: CleanStageDeps, ds: string): Promise<TaskManifest> {
  return buildLayer({ ...deps, task: TASK.id }, TASK.builds as 'staging', ds);
}
