import { assertValidPipeline, lockReleaseTask, type PipelineDefinition } from '@trips/pipeline';
import { localDagId, renderLocalDag } from './local';
import { renderMwaaDag } from './mwaa';

/** Every generated file, keyed by its path relative to the workspace root. */
export function generatedFiles(def: PipelineDefinition): Record<string, string> {
  assertValidPipeline(def);
  return {
    [`dags/${def.dagId}.py`]: renderMwaaDag(def),
    [`dags/${localDagId(def)}.py`]: renderLocalDag(def),
    // The definition itself, and the closing step it implies, for the pytest suite to check the DAGs against.
    [`dags/${def.dagId}.definition.json`]: `${JSON.stringify({ ...def, lockRelease: lockReleaseTask(def) }, null, 2)}\n`,
  };
}
