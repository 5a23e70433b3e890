import { table, tablesOf, warehouseTables, type Layer, type TableDef } from './catalog';
import { INGEST_STATE_PREFIX, rawBatchTemplate, WAREHOUSE_SCHEMA } from './layout';

/**
 * The pipeline definition: the one source the local runner, the DAG generator and the ECS task
 * definitions read. Every default is declared here once.
 */
export interface TaskDefinition {
  /** Airflow task id and manifest folder name. */
  id: string;
  /** Folder under apps/ holding the container app; also the ECS container name. */
  app: string;
  description: string;
  /** Arguments after the app's command; `{{ ds }}` is the run's logical date, `{{ run_id }}` the run's id. */
  args: string[];
  dependsOn: string[];
  /** What the task reads and writes (lake tables' from the catalog): the task roles' S3 permissions derive from them. */
  reads: DataRef[];
  writes: DataRef[];
  /** The layer of the catalog's models the task writes (model tasks only). */
  builds?: Layer;
  /** Fargate CPU units (1024 = 1 vCPU) and memory; see FARGATE_SIZES. */
  cpu: number;
  memoryMiB: number;
  timeoutMinutes: number;
  retries: number;
  retryDelayMinutes: number;
}

/** Who hears about task outcomes, and how: SNS on AWS, an HTTP webhook locally. */
export interface NotificationSettings {
  onSuccess: boolean;
  onFailure: boolean;
  /** Airflow connection id of the local webhook receiver (AIRFLOW_CONN_<ID> in the environment). */
  webhookConnId: string;
}

/** Names shared by the images (Dockerfile), the ECS task definitions (stacks) and the DAG that runs them. */
export interface EcsContract {
  /** Task definition family of an app: `${taskFamilyPrefix}${app}`. */
  taskFamilyPrefix: string;
  /** awslogs-stream-prefix of every container; streams are `<prefix>/<app>/<ecs task id>`. */
  logStreamPrefix: string;
  /** What a container runs: the app's bundle in its image. The DAG's command (`--ds …`) follows it. */
  entryPoint: string[];
  /** The image's non-root user (uid:gid). */
  user: string;
}

export interface PipelineDefinition {
  dagId: string;
  description: string;
  /** Cron, UTC. A run's logical date is the day it is scheduled for. */
  schedule: string;
  startDate: string;
  /** Missed days are not run automatically: a backfill is a deliberate `airflow backfill`. */
  catchup: boolean;
  /** Runs of different days share dimension and aggregate rows in the warehouse, so one at a time. */
  maxActiveRuns: number;
  notifications: NotificationSettings;
  ecs: EcsContract;
  /** The task that lands raw files; `trips run --input` lands them itself and leaves it out. */
  ingestTask: string;
  /**
   * Id of the task every Airflow run ends with, whatever became of the others (trigger rule
   * all_done): it frees the day's lock the run's tasks hand to each other (see lockReleaseTask).
   */
  releaseLockTask: string;
  tasks: TaskDefinition[];
}

/**
 * A place a task reads or writes: a key prefix of the raw or lake bucket (`{{ ds }}` standing for
 * the run's day), the partner's SFTP folder (the setting naming it), or the warehouse schema.
 */
export type DataRef = { store: 'raw' | 'lake'; prefix: string } | { store: 'sftp'; setting: string } | { store: 'warehouse'; schema: string };

/** A DataRef as the DAG's task notes and the apps' help say it: `lake:validated/trips/ds={{ ds }}/`. */
export function describeRef(r: DataRef): string {
  if (r.store === 'sftp') return `sftp:${r.setting}`;
  if (r.store === 'warehouse') return `warehouse:${r.schema}.*`;
  return `${r.store}:${r.prefix}`;
}

/**
 * What every task of a run writes besides its outputs, in the lake: its manifest folder (which
 * load-redshift's COPY manifests share) and the day's lock; the run's closing step (--release-lock)
 * writes the lock only.
 */
export function bookkeeping(task: Pick<TaskDefinition, 'id' | 'args'>): DataRef[] {
  const lock: DataRef = { store: 'lake', prefix: 'locks/' };
  return task.args.includes('--release-lock') ? [lock] : [{ store: 'lake', prefix: `manifests/${task.id}/` }, lock];
}

/** Every task gets the day and the run it belongs to (the run's tasks share the day's lock). */
const RUN_ARGS = ['--ds', '{{ ds }}', '--run-id', '{{ run_id }}'];

/** The ds partition of each table in the lake, as a task's reads or writes. */
const lakePartitions = (tables: readonly TableDef[]): DataRef[] => tables.map((t) => ({ store: 'lake', prefix: `${t.path}/ds={{ ds }}/` }));

/** What the task building a layer reads: its models' inputs and the tables their relationships check, of other layers. */
function layerReads(layer: Layer): DataRef[] {
  const ids = tablesOf(layer).flatMap((t) => [...(t.model?.inputs ?? []), ...(t.tests?.relationships ?? []).map((r) => r.to)]);
  return lakePartitions([...new Set(ids)].map((id) => table(id)).filter((t) => t.layer !== layer));
}

/** A model task's data flow: it reads what its layer's models need and writes the layer. */
const modelTaskIo = (layer: Layer) => ({ builds: layer, reads: layerReads(layer), writes: lakePartitions(tablesOf(layer)) });

const defaults = { cpu: 1024, memoryMiB: 2048, timeoutMinutes: 60, retries: 2, retryDelayMinutes: 5 } as const;

export const PIPELINE: PipelineDefinition = {
  dagId: 'trips_pipeline',
  description: 'Vehicle trips: raw CSV batches of a day to validated, clean, modelled data in the warehouse.',
  schedule: '0 3 * * *',
  startDate: '2018-05-01',
  catchup: false,
  maxActiveRuns: 1,
  notifications: { onSuccess: true, onFailure: true, webhookConnId: 'trips_webhook' },
  ecs: { taskFamilyPrefix: 'trips-', logStreamPrefix: 'trips', entryPoint: ['node', '/app/main.js'], user: '1000:1000' },
  ingestTask: 'ingest_sftp',
  releaseLockTask: 'release_lock',
  tasks: [
    {
      ...defaults,
      id: 'ingest_sftp',
      app: 'ingest-sftp',
      description: 'Land every new or changed file of the partner\'s SFTP folder in the raw bucket, exactly once.',
      args: RUN_ARGS,
      dependsOn: [],
      reads: [{ store: 'sftp', setting: 'TRIPS_SFTP_DIR' }],
      writes: [
        { store: 'raw', prefix: rawBatchTemplate() },
        { store: 'lake', prefix: INGEST_STATE_PREFIX },
      ],
      cpu: 512,
      memoryMiB: 1024,
      timeoutMinutes: 120,
      retries: 3,
      retryDelayMinutes: 2,
    },
    {
      ...defaults,
      id: 'validate_raw',
      app: 'validate-raw',
      description: 'Check the day\'s raw files; split rows into validated and quarantined.',
      args: RUN_ARGS,
      dependsOn: ['ingest_sftp'],
      reads: [{ store: 'raw', prefix: rawBatchTemplate() }],
      writes: lakePartitions([...tablesOf('validated'), ...tablesOf('quarantine')]),
    },
    {
      ...defaults,
      id: 'clean_stage',
      app: 'clean-stage',
      description: 'Type, normalise and deduplicate validated rows into clean Parquet.',
      args: RUN_ARGS,
      dependsOn: ['validate_raw'],
      ...modelTaskIo('staging'),
    },
    {
      ...defaults,
      id: 'build_dimensions',
      app: 'build-dimensions',
      description: 'Derive the dimension members the day\'s trips need, with deterministic keys.',
      args: RUN_ARGS,
      dependsOn: ['clean_stage'],
      ...modelTaskIo('dimensions'),
    },
    {
      ...defaults,
      id: 'build_facts',
      app: 'build-facts',
      description: 'Build the day\'s facts, keyed to the dimensions.',
      args: RUN_ARGS,
      dependsOn: ['build_dimensions'],
      ...modelTaskIo('facts'),
    },
    {
      ...defaults,
      id: 'load_redshift',
      app: 'load-redshift',
      description: 'Load the day\'s dimensions and facts into the warehouse, one transaction per table.',
      args: RUN_ARGS,
      dependsOn: ['build_facts'],
      reads: lakePartitions(warehouseTables()),
      writes: [{ store: 'warehouse', schema: WAREHOUSE_SCHEMA }],
    },
  ],
};

/** Tasks in an order where every task comes after those it depends on; throws on cycles or unknown ids. */
export function topologicalOrder(tasks: readonly TaskDefinition[]): TaskDefinition[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  if (byId.size !== tasks.length) throw new Error('pipeline definition: duplicate task id');
  const done = new Set<string>();
  const visiting = new Set<string>();
  const order: TaskDefinition[] = [];
  const visit = (t: TaskDefinition): void => {
    if (done.has(t.id)) return;
    if (visiting.has(t.id)) throw new Error(`pipeline definition: cycle through task ${t.id}`);
    visiting.add(t.id);
    for (const dep of t.dependsOn) {
      const d = byId.get(dep);
      if (!d) throw new Error(`pipeline definition: task ${t.id} depends on unknown task ${dep}`);
      visit(d);
    }
    visiting.delete(t.id);
    done.add(t.id);
    order.push(t);
  };
  tasks.forEach(visit);
  return order;
}

/** The task of the definition an app runs. */
export function taskOfApp(app: string, def: PipelineDefinition = PIPELINE): TaskDefinition {
  const task = def.tasks.find((t) => t.app === app);
  if (!task) throw new Error(`pipeline definition ${def.dagId}: no task runs the app ${app}`);
  return task;
}

/** The task that writes the models of a layer. */
export function taskBuilding(layer: Layer, def: PipelineDefinition = PIPELINE): TaskDefinition | undefined {
  return def.tasks.find((t) => t.builds === layer);
}

/** True for a task nothing else depends on: a run ends with it. */
export function isFinalTask(task: TaskDefinition, def: PipelineDefinition = PIPELINE): boolean {
  return !def.tasks.some((t) => t.dependsOn.includes(task.id));
}

/**
 * The run's closing step in the DAGs: the final task's app with `--release-lock`, after every final
 * task, run whatever their outcome. A run that fails, or a partial rerun that skips the final task,
 * would otherwise keep the day locked until the lease runs out. (`trips run` holds and frees the
 * lock itself.)
 */
export function lockReleaseTask(def: PipelineDefinition = PIPELINE): TaskDefinition {
  const finals = def.tasks.filter((t) => isFinalTask(t, def));
  const last = finals[finals.length - 1];
  return {
    ...last,
    id: def.releaseLockTask,
    description: 'Free the day\'s lock at the end of the run, whatever became of its tasks.',
    args: [...RUN_ARGS, '--release-lock'],
    dependsOn: finals.map((t) => t.id),
    reads: [],
    writes: [],
    timeoutMinutes: 10,
    retries: 3,
    retryDelayMinutes: 1,
  };
}

/** Replaces `{{ ds }}` and `{{ run_id }}` in a task's arguments. */
export function renderArgs(task: TaskDefinition, ds: string, runId: string): string[] {
  return task.args.map((a) => a.replace(/\{\{\s*ds\s*\}\}/g, ds).replace(/\{\{\s*run_id\s*\}\}/g, runId));
}

/** CPU units Fargate offers and the memory (MiB) each allows: [min, max, step]. */
export const FARGATE_SIZES: Record<number, [number, number, number]> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

const ID = /^[a-z][a-z0-9_]*$/;
const APP = /^[a-z][a-z0-9-]*$/;
const DS_ARG = /\{\{\s*ds\s*\}\}/;

/**
 * Everything wrong with a definition, one message per problem (empty when it is sound): ids and app
 * names usable as Airflow task ids and ECS names, known dependencies, no cycles, the logical date in
 * every task's arguments, sizes Fargate can run, sane timeouts and retries. `apps`, when given, is the
 * list of folders under apps/ and every task's app must be one of them.
 */
export function pipelineProblems(def: PipelineDefinition, apps?: readonly string[]): string[] {
  const problems: string[] = [];
  if (!ID.test(def.dagId)) problems.push(`dagId "${def.dagId}" must match ${ID}`);
  if (def.schedule.trim().split(/\s+/).length !== 5) problems.push(`schedule "${def.schedule}" must be a five-field cron expression`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(def.startDate)) problems.push(`startDate "${def.startDate}" must be YYYY-MM-DD`);
  if (!(def.maxActiveRuns >= 1)) problems.push('maxActiveRuns must be at least 1');
  if (def.tasks.length === 0) problems.push('the pipeline has no tasks');
  if (!def.tasks.some((t) => t.id === def.ingestTask)) problems.push(`ingestTask ${def.ingestTask} is not one of the tasks`);
  if (!ID.test(def.releaseLockTask) || def.tasks.some((t) => t.id === def.releaseLockTask)) problems.push(`releaseLockTask "${def.releaseLockTask}" must match ${ID} and differ from every task id`);
  for (const t of def.tasks) {
    const at = `task ${t.id}`;
    if (!ID.test(t.id)) problems.push(`${at}: id must match ${ID}`);
    if (!APP.test(t.app)) problems.push(`${at}: app "${t.app}" must match ${APP}`);
    else if (apps && !apps.includes(t.app)) problems.push(`${at}: app "${t.app}" is not a folder under apps/`);
    if (!t.args.some((a) => DS_ARG.test(a))) problems.push(`${at}: its args never pass the logical date ({{ ds }})`);
    const mem = FARGATE_SIZES[t.cpu];
    if (!mem) problems.push(`${at}: cpu ${t.cpu} is not a Fargate size (${Object.keys(FARGATE_SIZES).join(', ')})`);
    else if (t.memoryMiB < mem[0] || t.memoryMiB > mem[1] || (t.memoryMiB - mem[0]) % mem[2] !== 0) {
      problems.push(`${at}: memory ${t.memoryMiB} MiB does not fit cpu ${t.cpu} (${mem[0]}–${mem[1]} MiB in steps of ${mem[2]})`);
    }
    if (!(t.timeoutMinutes > 0)) problems.push(`${at}: timeoutMinutes must be positive`);
    if (!Number.isInteger(t.retries) || t.retries < 0) problems.push(`${at}: retries must be a whole number ≥ 0`);
    if (!(t.retryDelayMinutes >= 0)) problems.push(`${at}: retryDelayMinutes must be ≥ 0`);
  }
  try {
    topologicalOrder(def.tasks);
  } catch (e) {
    problems.push((e as Error).message.replace(/^pipeline definition: /, ''));
  }
  return problems;
}

/** Throws one error listing every problem of the definition. */
export function assertValidPipeline(def: PipelineDefinition, apps?: readonly string[]): void {
  const problems = pipelineProblems(def, apps);
  if (problems.length > 0) throw new Error(`pipeline definition ${def.dagId} is invalid:\n  - ${problems.join('\n  - ')}`);
}
