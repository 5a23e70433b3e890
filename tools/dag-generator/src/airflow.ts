import { describeRef, manifestKey, type PipelineDefinition, type TaskDefinition } from '@trips/pipeline';
import { py } from './python';

/**
 * Constants both DAG files start with: the one derivation of a run's date and the notification
 * messages. Asset-triggered runs (a file landed) have no logical date, so they take the day their
 * run_after falls on (UTC); scheduled and manual runs take their logical date.
 *
 * A message is one JSON object rendered by Jinja (valid JSON whatever the values hold); `summary` is
 * the app's last output line, its JSON summary with the row counts, which the operator keeps as
 * the task's XCom.
 */
export function preamble(): string {
  // The task manifest's key in the lake bucket, from the layout: the folder is the task's id.
  const [a, rest] = manifestKey('@TASK@', '@DS@').split('@TASK@');
  const [b, c] = rest.split('@DS@');
  const manifest = `"${a}" ~ ti.task_id ~ "${b}" ~ (' + DS_EXPR + ') ~ "${c}"`;
  const common = `"dag_id": dag.dag_id, "run_id": run_id, "ds": ' + DS_EXPR + ', "task": ti.task_id, "try_number": ti.try_number, "manifest": ${manifest}`;
  return [
    '# The run\'s date (YYYY-MM-DD): the logical date, or for asset-triggered runs the day of run_after.',
    `DS_EXPR = ${py('(dag_run.logical_date or dag_run.run_after) | ds')}`,
    'DS = "{{ " + DS_EXPR + " }}"',
    '# The Airflow run: every task of a run passes it, so they share the day\'s lock.',
    'RUN_ID = "{{ run_id }}"',
    '',
    '# Notification messages (JSON): ds, task, state, the key of the task manifest in the lake bucket, and',
    '# the app\'s summary line (row counts) on success or the error on failure.',
    `SUCCEEDED = '{{ {${common}, "state": "succeeded", "summary": ti.xcom_pull(task_ids=ti.task_id)} | tojson }}'`,
    `FAILED = '{{ {${common}, "state": "failed", "error": exception | string} | tojson }}'`,
  ].join('\n');
}

/** The template variables a task's arguments may hold, and the DAG file's constant each becomes. */
const VARIABLES: Record<string, string> = { ds: 'DS', run_id: 'RUN_ID' };
const VARIABLE = /\{\{\s*(\w+)\s*\}\}/g;

/** An argument cut at its variables: literal text and constant names alternate (`pieces[odd]` are constants). */
function pieces(arg: string): string[] {
  return arg.split(VARIABLE).map((piece, i) => {
    if (i % 2 === 0) return piece;
    const constant = VARIABLES[piece];
    if (!constant) throw new Error(`argument "${arg}": unknown variable {{ ${piece} }} (known: ${Object.keys(VARIABLES).join(', ')})`);
    return constant;
  });
}

/** A task's arguments as a Python list, `{{ ds }}` and `{{ run_id }}` becoming the DS and RUN_ID constants. */
export function argsExpression(task: TaskDefinition): string {
  const one = (arg: string): string => {
    const out = pieces(arg)
      .map((piece, i) => (i % 2 === 1 ? piece : piece === '' ? undefined : py(piece)))
      .filter((p): p is string => p !== undefined);
    return out.length > 0 ? out.join(' + ') : '""';
  };
  return `[${task.args.map(one).join(', ')}]`;
}

/** default_args shared by both DAGs (per-task values are passed on each operator). */
export function dagArgs(def: PipelineDefinition, dagId: string, schedule: string): Array<[string, string]> {
  return [
    ['dag_id', dagId],
    ['description', py(def.description)],
    ['doc_md', '__doc__'],
    ['schedule', schedule],
    ['start_date', `pendulum.datetime(${def.startDate.split('-').map(Number).join(', ')}, tz="UTC")`],
    ['catchup', py(def.catchup)],
    ['max_active_runs', py(def.maxActiveRuns)],
    ['tags', py(['trips'])],
  ];
}

/** Per-task operator arguments both DAGs share, from the definition. */
export function taskArgs(task: TaskDefinition): Array<[string, string]> {
  return [
    ['task_id', py(task.id)],
    ['params', py({ app: task.app })],
    ['doc_md', py([task.description, [task.reads.length ? `Reads: ${task.reads.map(describeRef).join(', ')}.` : '', task.writes.length ? `Writes: ${task.writes.map(describeRef).join(', ')}.` : ''].filter(Boolean).join(' ')].filter(Boolean).join('\n\n'))],
    ['retries', py(task.retries)],
    ['retry_delay', `timedelta(minutes=${task.retryDelayMinutes})`],
    ['execution_timeout', `timedelta(minutes=${task.timeoutMinutes})`],
  ];
}

/**
 * A shell command line running `command` with the task's arguments, as a Python expression: literal
 * text quoted for the shell, `{{ ds }}` and `{{ run_id }}` becoming the DS and RUN_ID constants
 * (a date, and an Airflow run id of [A-Za-z0-9_.~:+-]: safe unquoted).
 */
export function shellCommandExpression(command: string, task: TaskDefinition): string {
  const quote = (text: string) => (/^[\w@%+=:,./-]*$/.test(text) ? text : `'${text.replace(/'/g, `'"'"'`)}'`);
  const parts: string[] = [];
  let literal = command;
  for (const arg of task.args) {
    pieces(arg).forEach((piece, i) => {
      if (i === 0) literal += ` ${quote(piece)}`;
      else if (i % 2 === 1) {
        parts.push(py(literal), piece);
        literal = '';
      } else literal = quote(piece);
    });
  }
  if (literal !== '') parts.push(py(literal));
  return parts.join(' + ');
}

/**
 * The order, stated once at the bottom of the file: one `chain(...)` through every task when the
 * pipeline is a straight line, else one `chain(upstream, task)` per task with dependencies.
 */
export function orderLines(tasks: readonly TaskDefinition[], name: (id: string) => string): string[] {
  const dependents = new Map<string, number>();
  for (const t of tasks) for (const d of t.dependsOn) dependents.set(d, (dependents.get(d) ?? 0) + 1);
  const roots = tasks.filter((t) => t.dependsOn.length === 0);
  const straight = roots.length === 1 && tasks.every((t) => t.dependsOn.length <= 1 && (dependents.get(t.id) ?? 0) <= 1);
  if (straight) return tasks.length > 1 ? [`chain(${tasks.map((t) => name(t.id)).join(', ')})`] : [];
  return tasks
    .filter((t) => t.dependsOn.length > 0)
    .map((t) => `chain(${t.dependsOn.length === 1 ? name(t.dependsOn[0]) : `[${t.dependsOn.map(name).join(', ')}]`}, ${name(t.id)})`);
}
