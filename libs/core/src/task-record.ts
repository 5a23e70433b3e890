import { ContractError, TripsError } from './errors';
import type { Logger } from './logger';
import { accountingGap, type FileAccount, type OutputInfo, type RowCounts, type TaskManifest } from './manifest';

export interface TaskOutcome<D = unknown> {
  rows: RowCounts;
  rejectedByReason?: Record<string, number>;
  files: FileAccount[];
  outputs: OutputInfo[];
  details?: D;
}

/**
 * A task that failed after doing its work, with what it did (the manifest records it, the summary
 * line shows it): any exit code, e.g. 65 for a refused batch, 69 for files an SFTP pass could not land.
 */
export class OutcomeError<D = unknown> extends TripsError {
  constructor(
    message: string,
    exitCode: number,
    readonly outcome: TaskOutcome<D>,
  ) {
    super(message, exitCode);
  }
}

/** A task refusing its input after doing its work (e.g. a reject-ratio gate), exit 65 (EX_DATAERR). */
export class GateError extends OutcomeError {
  constructor(message: string, outcome: TaskOutcome) {
    super(message, 65, outcome);
  }
}

/**
 * Runs a task's work and saves its manifest, on failure too (status 'failed' and the error) before
 * rethrowing. Fails the task when its row accounting does not close. `save` decides where the
 * manifest goes (s3://LAKE/manifests/<task>/ds=D/ for the pipeline's tasks).
 */
export async function recordTask<D = unknown>(
  opts: { task: string; ds: string; runId?: string; save: (manifest: TaskManifest<D>) => Promise<void>; logger?: Logger },
  work: () => Promise<TaskOutcome<D>>,
): Promise<TaskManifest<D>> {
  const started = new Date();
  const finish = (fields: Omit<TaskManifest<D>, 'task' | 'ds' | 'runId' | 'startedAt' | 'finishedAt' | 'durationMs'>): TaskManifest<D> => {
    const finished = new Date();
    return { task: opts.task, ds: opts.ds, ...(opts.runId ? { runId: opts.runId } : {}), ...fields, startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime() };
  };
  let manifest: TaskManifest<D>;
  let failure: unknown;
  try {
    const outcome = await work();
    const rejectedByReason = outcome.rejectedByReason ?? {};
    const gap = accountingGap({ rows: outcome.rows, files: outcome.files, rejectedByReason });
    if (gap) throw new ContractError(`${opts.task} for ds=${opts.ds}: row accounting does not close: ${gap}`);
    manifest = finish({ status: 'succeeded', rows: outcome.rows, rejectedByReason, files: outcome.files, outputs: outcome.outputs, ...details(outcome) });
  } catch (e) {
    failure = e;
    const error = e instanceof Error ? e.message : String(e);
    if (e instanceof OutcomeError) {
      const o = e.outcome as TaskOutcome<D>;
      manifest = finish({ status: 'failed', error, rows: o.rows, rejectedByReason: o.rejectedByReason ?? {}, files: o.files, outputs: o.outputs, ...details(o) });
    } else {
      manifest = finish({ status: 'failed', error, rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 }, rejectedByReason: {}, files: [], outputs: [] });
    }
  }
  await opts.save(manifest);
  if (failure !== undefined) throw failure;
  opts.logger?.info({ ds: opts.ds, rows: manifest.rows, outputs: manifest.outputs }, `${opts.task} succeeded`);
  return manifest;
}

const details = <D>(o: TaskOutcome<D>) => (o.details === undefined ? {} : { details: o.details });
