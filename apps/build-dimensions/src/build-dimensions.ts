import type { Logger, TaskManifest } from '@trips/core';
import type { QueryEngine } from '@trips/engine';
import { gridVars, type GridSettings } from '@trips/models';
import { taskOfApp, type Buckets } from '@trips/pipeline';
import { buildLayer } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';

/** This app's task in the pipeline definition: its manifest folder and the layer it builds. */
const TASK = taskOfApp('build-dimensions');

export interface BuildDimensionsDeps {
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  openEngine: () => QueryEngine;
  grid: GridSettings;
  logger?: Logger;
}

/**
 * Writes the members the day's clean trips use of every dimension of the catalog to its ds
 * partition (replaced; the warehouse merges the days), checking each contract. Rows read and passed
 * are the clean rows; the outputs list each dimension's row count.
 */
export function runBuildDimensions(deps: BuildDimensionsDeps, ds: string): Promise<TaskManifest> {
  return buildLayer({ ...deps, vars: gridVars(deps.grid), task: TASK.id }, TASK.builds as 'dimensions', ds);
}
