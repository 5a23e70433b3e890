import { recordTask, ContractError, type FileAccount, type Logger, type TaskManifest } from '@trips/core';
import type { DatasetRef, QueryEngine } from '@trips/engine';
import { checkContract, MODELS, renderModel } from '@trips/models';
import { manifestKey, partition, s3Url, SCHEMAS, VALIDATED_COLUMNS, type Buckets, taskOfApp } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('clean-stage').id;

export interface CleanStageDeps {
  /** The run this task belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  /** Opens the query engine; the task closes it when done. */
  openEngine: () => QueryEngine;
  logger?: Logger;
}

/**
 * Types, normalises and deduplicates the day's validated rows (s3://LAKE/validated/trips/ds=D/)
 * into clean Parquet (s3://LAKE/clean/trips/ds=D/), replacing that partition. Rows read are the
 * validated rows; passed are the clean rows; the difference are duplicates, counted per source file.
 */
export async function runCleanStage(deps: CleanStageDeps, ds: string): Promise<TaskManifest> {
  return recordTask({ task: TASK, ds, runId: deps.runId, logger: deps.logger, save: (m) => deps.store.putJson(deps.buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const engine = deps.openEngine();
    try {
      const validated: DatasetRef = {
        name: 'validated_trips',
        location: partition(deps.buckets, 'validated', ds),
        format: 'csv',
        columns: VALIDATED_COLUMNS,
        partition: { ds },
      };
      const target = partition(deps.buckets, 'clean', ds);
      const written = await engine.writeParquet({ sql: renderModel('clean_trips', engine.dialect), inputs: [validated], target, table: 'clean_trips' });
      await checkContract(engine, MODELS.clean_trips.contract, target, { columns: SCHEMAS.clean.columns });

      const clean: DatasetRef = { name: 'clean_trips', location: target, format: 'parquet', partition: { ds } };
      const perFile = (sql: string, input: DatasetRef) => engine.query<{ source_file: string; n: number }>({ sql, inputs: [input] });
      const read = await perFile('select source_file, count(*) as n from validated_trips group by source_file', validated);
      const kept = new Map((await perFile('select source_file, count(*) as n from clean_trips group by source_file', clean)).map((r) => [r.source_file, r.n]));
      const files: FileAccount[] = read
        .sort((a, b) => (a.source_file < b.source_file ? -1 : 1))
        .map((r) => {
          const passed = kept.get(r.source_file) ?? 0;
          return { file: r.source_file, status: 'ok', rows: { read: r.n, passed, rejected: 0, duplicates: r.n - passed }, rejectedByReason: {} };
        });
      const total = files.reduce((s, f) => s + f.rows.read, 0);
      const passed = files.reduce((s, f) => s + f.rows.passed, 0);
      if (passed !== written.rows) {
        throw new ContractError(`${TASK}: clean rows per source file sum to ${passed}, but ${written.rows} rows were written to ${s3Url(target)}`);
      }
      return {
        rows: { read: total, passed, rejected: 0, duplicates: total - passed },
        files,
        outputs: [{ location: s3Url(target), rows: written.rows }],
      };
    } finally {
      await engine.close();
    }
  });
}
