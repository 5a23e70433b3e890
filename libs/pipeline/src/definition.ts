/**
 * The pipeline definition: the one source the local runner, the DAG generator and the ECS task
 * definitions read. Every default is declared here once.
 */
export interface TaskDefinition {
  /** Airflow task id and manifest folder name. */
  id: string;
  /** Folder under apps/ holding the container app. */
  app: string;
  description: string;
  /** Arguments after the app's command; `{{ ds }}` is the run's logical date. */
  args: string[];
  dependsOn: string[];
  reads: string[];
  writes: string[];
  cpu: number;
  memoryMiB: number;
  timeoutMinutes: number;
  retries: number;
  retryDelayMinutes: number;
}

const defaults = { cpu: 1024, memoryMiB: 2048, timeoutMinutes: 60, retries: 2, retryDelayMinutes: 5 } as const;

export const PIPELINE = {
  dagId: 'trips_pipeline',
  schedule: '0 3 * * *',
  startDate: '2018-05-01',
  tasks: [
    {
      ...defaults,
      id: 'validate_raw',
      app: 'validate-raw',
      description: 'Check the day\'s raw files; split rows into validated and quarantined.',
      args: ['--ds', '{{ ds }}'],
      dependsOn: [],
      reads: ['raw:trips/ingest_date={{ ds }}/'],
      writes: ['lake:validated/trips/ds={{ ds }}/', 'lake:quarantine/trips/ds={{ ds }}/'],
    },
    {
      ...defaults,
      id: 'clean_stage',
      app: 'clean-stage',
      description: 'Type, normalise and deduplicate validated rows into clean Parquet.',
      args: ['--ds', '{{ ds }}'],
      dependsOn: ['validate_raw'],
      reads: ['lake:validated/trips/ds={{ ds }}/'],
      writes: ['lake:clean/trips/ds={{ ds }}/'],
    },
    {
      ...defaults,
      id: 'build_dimensions',
      app: 'build-dimensions',
      description: 'Derive the dimension members the day\'s trips need, with deterministic keys.',
      args: ['--ds', '{{ ds }}'],
      dependsOn: ['clean_stage'],
      reads: ['lake:clean/trips/ds={{ ds }}/'],
      writes: ['lake:model/dim_*/ds={{ ds }}/'],
    },
    {
      ...defaults,
      id: 'build_facts',
      app: 'build-facts',
      description: 'Build fact_trips for the day, keyed to the dimensions.',
      args: ['--ds', '{{ ds }}'],
      dependsOn: ['build_dimensions'],
      reads: ['lake:clean/trips/ds={{ ds }}/'],
      writes: ['lake:model/fact_trips/ds={{ ds }}/'],
    },
    {
      ...defaults,
      id: 'load_redshift',
      app: 'load-redshift',
      description: 'Load the day\'s dimensions and facts into the warehouse, one transaction per table.',
      args: ['--ds', '{{ ds }}'],
      dependsOn: ['build_facts'],
      reads: ['lake:model/'],
      writes: ['warehouse:trips.*'],
    },
  ] satisfies TaskDefinition[],
} as const;

export type PipelineDefinition = typeof PIPELINE;

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

/** Replaces `{{ ds }}` in a task's arguments. */
export function renderArgs(task: TaskDefinition, ds: string): string[] {
  return task.args.map((a) => a.replace(/\{\{\s*ds\s*\}\}/g, ds));
}
