import type { z } from 'zod';
import { baseSettings, ConfigError, createProgress, loadConfig, runTaskCli, UsageError, type BaseSettings, type Logger, type Progress, type TaskContext } from '@trips/core';
import { isFinalTask, lakeDsProblem, lockKey, taskOfApp, type Buckets, type TaskDefinition } from '@trips/pipeline';
import { resolveSettings } from '@trips/secrets';
import { DsLock, FileObjectStore, S3ObjectStore, type ObjectStore } from '@trips/storage';

type OptionSpec = { type: 'string' | 'boolean'; description: string; default?: string | boolean };

export interface PipelineTaskContext<C> {
  ds: string;
  runId: string;
  /** This app's task in the pipeline definition. */
  task: TaskDefinition;
  cfg: C;
  store: ObjectStore;
  buckets: Buckets;
  logger: Logger;
  /** The task's progress, stage by stage (drawn by `trips run`; info logs elsewhere). */
  progress: Progress;
  options: TaskContext['options'];
  /** Aborted when the task is told to stop (SIGTERM from ECS or Airflow): adapters stop their running statements. */
  signal: AbortSignal;
  /**
   * Runs `work` holding the lock of `day` for this run (apps that manage the lock themselves); then
   * hands it over to the run's next task, or releases it after the final task or when `release`.
   */
  withLock<T>(day: string, work: () => Promise<T>, opts?: { release?: boolean }): Promise<T>;
}

export interface PipelineTaskSpec<S extends z.ZodRawShape, R, P = undefined> {
  /** Folder under apps/: the pipeline definition says which task it runs. */
  app: string;
  description: string;
  options?: Record<string, OptionSpec>;
  /** The app's settings besides baseSettings (zod shape). */
  settings: S;
  /**
   * `run` (default): the task holds the lock of its ds while it works. `self`: the app takes locks
   * itself through `withLock` (ingest-sftp's --watch lands a day at a time).
   */
  lock?: 'run' | 'self';
  /**
   * Builds what the work needs from the configuration before the lock is taken, so that a setting
   * the adapters refuse stops the task at once (exit 78) naming it.
   */
  prepare?(ctx: Omit<PipelineTaskContext<BaseSettings & z.infer<z.ZodObject<S>>>, 'withLock'>): P;
  run(ctx: PipelineTaskContext<BaseSettings & z.infer<z.ZodObject<S>>>, prepared: P): Promise<R>;
}

/**
 * Runs a pipeline task's CLI: parses `--ds` and `--run-id`, resolves `kms:` and `secretsmanager:`
 * settings, parses the configuration once, opens the object store, and runs the work holding the
 * day's lock with the run's id, so that a second run of the same day is refused (exit 75) rather
 * than mixed with this one. After the run's final task, or a task run on its own, the lock is
 * released; after any other task of a run it is handed over, for the run's next task.
 */
export function runPipelineTask<S extends z.ZodRawShape, R, P = undefined>(spec: PipelineTaskSpec<S, R, P>): void {
  const task = taskOfApp(spec.app);
  void runTaskCli({
    name: spec.app,
    task: task.id,
    description: spec.description,
    options: { ...spec.options, 'release-lock': { type: 'boolean', description: 'do no work: free the day\'s lock if the run --run-id holds it (the DAG\'s closing step)' } },
    async run({ ds, runId, partOfRun, options, logger }) {
      const cfg = loadConfig({ ...baseSettings, ...spec.settings }, await resolveSettings()) as BaseSettings & z.infer<z.ZodObject<S>>;
      logger.level = cfg.LOG_LEVEL;
      const outOfRange = lakeDsProblem(ds);
      if (outOfRange) throw new UsageError(`--ds: ${outOfRange}`);
      checkStatementTimeouts(cfg, task);
      const store = openStore(cfg);
      const buckets = { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET };
      const lockOf = (day: string) =>
        new DsLock({ store, bucket: buckets.lake, key: lockKey(day), what: `ds=${day}`, owner: runId, task: task.id, leaseMs: cfg.TRIPS_LOCK_LEASE_SECONDS * 1000, logger });
      if (options['release-lock']) {
        await lockOf(ds).release();
        logger.info({ ds, runId }, `freed the lock of ds=${ds} if run ${runId} held it`);
        return { task: 'release_lock', ds, status: 'succeeded' } as R;
      }
      const withLock = async <T>(day: string, work: () => Promise<T>, opts: { release?: boolean } = {}): Promise<T> => {
        const lock = lockOf(day);
        await lock.acquire();
        let result: T;
        try {
          result = await work();
          lock.check();
        } catch (e) {
          await lock.handOver().catch(() => undefined);
          throw e;
        }
        // A task run on its own (no --run-id) is a run of its own: nothing follows it.
        if (opts.release || !partOfRun || isFinalTask(task)) await lock.release();
        else await lock.handOver();
        return result;
      };
      // ECS and Airflow stop a task with SIGTERM: the running Athena query or Redshift statement is stopped with it.
      const stop = new AbortController();
      process.once('SIGTERM', () => stop.abort());
      const base = { ds, runId, task, cfg, store, buckets, logger, progress: createProgress(task.id, logger), options, signal: stop.signal };
      const prepared = spec.prepare?.(base) as P;
      const ctx = { ...base, withLock };
      return spec.lock === 'self' ? spec.run(ctx, prepared) : withLock(ds, () => spec.run(ctx, prepared));
    },
  });
}

/**
 * The task's object store: the folder of TRIPS_OBJECT_DIR when set (a local run's file store),
 * otherwise S3 at its endpoint. Athena and Redshift read S3 themselves: with either, a folder is
 * refused (exit 78).
 */
export function openStore(cfg: BaseSettings): ObjectStore {
  if (cfg.TRIPS_OBJECT_DIR === undefined) return new S3ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
  if (cfg.TRIPS_ENGINE === 'athena' || cfg.TRIPS_WAREHOUSE === 'redshift') {
    throw new ConfigError('TRIPS_OBJECT_DIR: a folder of objects is for local runs; Athena and Redshift read S3 (unset it, or use TRIPS_ENGINE=duckdb and TRIPS_WAREHOUSE=postgres)');
  }
  return new FileObjectStore(cfg.TRIPS_OBJECT_DIR);
}

/** Settings that bound one Athena query or Redshift statement, in seconds. */
const STATEMENT_TIMEOUTS = ['TRIPS_ATHENA_TIMEOUT_SECONDS', 'TRIPS_REDSHIFT_TIMEOUT_SECONDS'] as const;

/**
 * A statement must time out before its task does: the task then stops it and fails cleanly, with
 * its manifest, instead of Airflow killing the task (execution_timeout, the definition's
 * timeoutMinutes) while the statement runs on.
 */
export function checkStatementTimeouts(cfg: Record<string, unknown>, task: Pick<TaskDefinition, 'id' | 'timeoutMinutes'>): void {
  for (const name of STATEMENT_TIMEOUTS) {
    const seconds = cfg[name];
    if (typeof seconds === 'number' && seconds >= task.timeoutMinutes * 60) {
      throw new ConfigError(`${name}=${seconds} is not shorter than task ${task.id}'s timeout (${task.timeoutMinutes} min, pipeline definition): a statement would outlive its task; set it below ${task.timeoutMinutes * 60}`);
    }
  }
}

