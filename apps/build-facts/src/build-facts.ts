import type { Logger, TaskManifest } from '@trips/core';
import type { QueryEngine } from '@trips/engine';
import { gridVars, type GridSettings } from '@trips/models';
import { taskOfApp, type Buckets } from '@trips/pipeline';
import { buildLayer } from '@trips/runtime';
import type { ObjectStore } from '@trips/storage';

/** This app's task in the pipeline definition: its manifest folder and the layer it builds. */
const TASK = taskOfApp('build-facts');

export interface BuildFactsDeps {
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  openEngine: () => QueryEngine;
  /** Must be the settings build-dimensions ran with, or group keys will not join. */
  grid: GridSettings;
  logger?: Logger;
}

/**
 * Writes the facts of the day's clean trips (the catalog's facts layer) to their ds partitions
 * (replaced), checking each contract, including that every key exists in the dimensions written
 * for the same ds. Rows read are the clean rows, passed the fact rows: one per clean trip.
 */
export function runBuildFacts(deps: BuildFactsDeps, ds: string): Promise<TaskManifest> {
  return buildLayer({ ...deps, vars: gridVars(deps.grid), task: TASK.id }, TASK.builds as 'facts', ds);
}
