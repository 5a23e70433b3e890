import { lockReleaseTask, topologicalOrder, type PipelineDefinition } from '@trips/pipeline';
import { dagArgs, shellCommandExpression, orderLines, preamble, taskArgs } from './airflow';
import { docstring, kwargs, py, pyName } from './python';

/** The id of the local twin of a DAG. */
export function localDagId(def: PipelineDefinition): string {
  return `${def.dagId}_local`;
}

/**
 * The local DAG: the same tasks, ids, order, retries and timeouts as the MWAA DAG, each running the
 * app's bundled CLI (dist/apps/<app>/main.js) as a subprocess against the local stand-ins.
 */
export function renderLocalDag(def: PipelineDefinition): string {
  const release = lockReleaseTask(def);
  const tasks = [...topologicalOrder(def.tasks), release];
  const conn = def.notifications.webhookConnId;
  const doc = `### ${localDagId(def)}: the ${def.dagId} DAG on a laptop

${def.description}

Generated from the pipeline definition (libs/pipeline) by \`npx nx run dag-generator:generate\`.
Do not edit: a test fails when this file differs from what the generator writes.

The same tasks, ids, order, retries and timeouts as the MWAA DAG (\`${def.dagId}\`); each task runs
the app's bundled CLI (\`node $TRIPS_HOME/dist/apps/<app>/main.js --ds <date> --run-id <run_id>\`,
built by \`npm run build\`) against the local stand-ins. Start those and get their environment with
\`npx trips local up\` and \`eval "$(npx trips local env)"\` before starting Airflow
(\`npm run local:airflow\` does all of it). Every app is idempotent per ds, so any task can be cleared
and rerun alone. The run's tasks share the day's lock; \`${def.releaseLockTask}\`, a teardown, frees it
at the end of every run.

Notifications: a POST of a JSON object (dag, run, ds, task, state, manifest key, and the app's
summary line or the error) to the Airflow connection \`${conn}\`
(\`AIRFLOW_CONN_${conn.toUpperCase()}=http://host:port/path\`) on every task's success and failure.`;

  const name = (id: string) => pyName(id);
  const operators = tasks.map((t) => {
    const command = `exec node "$TRIPS_HOME/dist/apps/${t.app}/main.js"`;
    const args: Array<[string, string]> = [...taskArgs(t), ['bash_command', shellCommandExpression(command, t)]];
    const notify = (state: 'succeeded' | 'failed') =>
      `HttpNotifier(http_conn_id=${py(conn)}, method="POST", data=${state === 'succeeded' ? 'SUCCEEDED' : 'FAILED'}, headers=JSON_HEADERS)`;
    // The closing step (a teardown: it runs whatever became of the others) is no news for anyone.
    if (t !== release) {
      if (def.notifications.onSuccess) args.push(['on_success_callback', notify('succeeded')]);
      if (def.notifications.onFailure) args.push(['on_failure_callback', notify('failed')]);
    }
    return `    ${name(t.id)} = BashOperator(\n${kwargs(args, 8)}\n    )`;
  });

  return `${docstring(doc)}

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.http.notifications.http import HttpNotifier
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain
from airflow.timetables.trigger import CronTriggerTimetable

DAG_ID = ${py(localDagId(def))}

${preamble()}
JSON_HEADERS = {"Content-Type": "application/json"}

with DAG(
${kwargs(dagArgs(def, 'DAG_ID', `CronTriggerTimetable(${py(def.schedule)}, timezone="UTC")`), 4)}
):
${operators.join('\n\n')}

${orderLines(tasks, (id) => (id === release.id ? `${name(id)}.as_teardown()` : name(id)))
  .map((l) => `    ${l}`)
  .join('\n')}
`;
}
