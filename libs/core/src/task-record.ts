import { ContractError, DataError } from './errors';
import type { Logger } from './logger';
import { accountingGap, type FileAccount, type OutputInfo, type RowCounts, type TaskManifest } from './manifest';

export interface TaskOutcome {
  rows: RowCounts;
  rejectedByReason?: Record<string, number>;
  files: FileAccount[];
  outputs: OutputInfo[];
}

/** A task refusing its input after doing its work (e.g. a reject-ratio gate): the counts still go into the manifest. */
export class GateError extends DataError {
  constructor(
    message: string,
    readonly outcome: TaskOutcome,
  ) {
    super(message);
  }
}

/**
 * Runs a task's work and saves its manifest, on failure too (status 'failed' and the error) before
 * rethrowing. Fails the task when its row accounting does not close. `save` decides where the
 * manifest goes (s3://LAKE/manifests/<task>/ds=D/ for the pipeline's tasks).
 */
export async function recordTask(
  opts: { task: string; ds: string; runId?: string; save: (manifest: TaskManifest) => Promise<void>; logger?: Logger },
  work: () => Promise<TaskOutcome>,
): Promise<TaskManifest> {
  const started = new Date();
  const finish = (fields: Omit<TaskManifest, 'task' | 'ds' | 'runId' | 'startedAt' | 'finishedAt' | 'durationMs'>): TaskManifest => {
    const finished = new Date();
    return { task: opts.task, ds: opts.ds, ...(opts.runId ? { runId: opts.runId } : {}), ...fields, startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime() };
  };
  let manifest: TaskManifest;
  let failure: unknown;
  try {
    const outcome = await work();
    const rejectedByReason = outcome.rejectedByReason ?? {};
    const gap = accountingGap({ rows: outcome.rows, files: outcome.files, rejectedByReason });
    if (gap) throw new ContractError(`${opts.task} for ds=${opts.ds}: row accounting does not close: ${gap}`);
    manifest = finish({ status: 'succeeded', rows: outcome.rows, rejectedByReason, files: outcome.files, outputs: outcome.outputs });
  } catch (e) {
    failure = e;
    const error = e instanceof Error ? e.message : String(e);
    if (e instanceof GateError) {
      manifest = finish({ status: 'failed', error, rows: e.outcome.rows, rejectedByReason: e.outcome.rejectedByReason ?? {}, files: e.outcome.files, outputs: e.outcome.outputs });
    } else {
      manifest = finish({ status: 'failed', error, rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 }, rejectedByReason: {}, files: [], outputs: [] });
    }
  }
  await opts.save(manifest);
  if (failure !== undefined) throw failure;
  opts.logger?.info({ ds: opts.ds, rows: manifest.rows, outputs: manifest.outputs }, `${opts.task} succeeded`);
  return manifest;
}
