import { lockReleaseTask, RAW_PREFIX, topologicalOrder, type PipelineDefinition } from '@trips/pipeline';
import { argsExpression, dagArgs, orderLines, preamble, taskArgs } from './airflow';
import { docstring, kwargs, py, pyName } from './python';

/** Keys of trips_pipeline_config.json, the deployment settings the stacks write beside the DAG. */
export const MWAA_CONFIG_KEYS = ['cluster', 'subnets', 'security_groups', 'egress_security_groups', 'log_group', 'region', 'sns_topic_arn', 'raw_bucket', 'raw_events_queue_url'] as const;

/** The Amazon MWAA DAG: one EcsRunTaskOperator (Fargate) per task of the definition. */
export function renderMwaaDag(def: PipelineDefinition): string {
  const release = lockReleaseTask(def);
  const tasks = [...topologicalOrder(def.tasks), release];
  // With a raw-events queue the ingest task is left out: files are landed by the ingest-sftp
  // watcher (or pushed), each landing starts a run, and a run landing files itself would start
  // runs in turn.
  const landing = tasks.find((t) => t.id === def.ingestTask);
  const afterLanding = tasks.filter((t) => landing && t.dependsOn.includes(landing.id));
  const rest = tasks.filter((t) => t !== landing).map((t) => ({ ...t, dependsOn: t.dependsOn.filter((d) => d !== landing?.id) }));
  const doc = `### ${def.dagId} on Amazon MWAA

${def.description}

Generated from the pipeline definition (libs/pipeline) by \`npx nx run dag-generator:generate\`.
Do not edit: a test fails when this file differs from what the generator writes.

Each task runs one app as an ECS Fargate task (task definition \`${def.ecs.taskFamilyPrefix}<app>\`,
container \`<app>\`) with \`--ds <date> --run-id <run_id>\` (the run's tasks share the day's lock;
\`${def.releaseLockTask}\`, a teardown, frees it at the end of every run); its CloudWatch log streams (\`${def.ecs.logStreamPrefix}/<app>/<ECS task id>\`)
show in the Airflow task log. \`reattach\` makes a retried Airflow task wait for an ECS task still
running instead of starting a second one; a retry after the ECS task ended runs the app again,
which is safe because every app replaces its outputs for the ds.

Deployment settings come from \`trips_pipeline_config.json\` beside this file, written by the
stacks: ${MWAA_CONFIG_KEYS.map((k) => `\`${k}\``).join(', ')} (the last one optional). Only the\n\`${def.ingestTask}\` task runs with \`egress_security_groups\`, which may reach the partner's SFTP server.

Schedule: \`${def.schedule}\` (UTC); catchup ${def.catchup ? 'on' : 'off (backfill deliberately with `airflow backfill create`)'}; at most
${def.maxActiveRuns} run at a time. When \`raw_events_queue_url\` is set, a file landing in the raw bucket
under \`${RAW_PREFIX}\` (an S3 object-created event on that SQS queue; the bucket notification's filter is
RAW_EVENTS in libs/pipeline) also starts a run, and the DAG has no \`${def.ingestTask}\` task: the
ingest-sftp watcher service lands the files, as their arrival starts the runs (a run that landed
files would start runs in turn). Such runs have no logical date: DS derives the ds from the run's
run_after instead, the one place this is done.

Notifications: SNS (\`sns_topic_arn\`) on every task's success and failure, a JSON message with the
dag, run, ds, task, state, the task's manifest key in the lake bucket and, on success, the app's
summary line (row counts), on failure the error.`;

  const name = (id: string) => pyName(id);
  const operators = tasks.map((t) => {
    const args: Array<[string, string]> = [
      ...taskArgs(t),
      ['task_definition', py(`${def.ecs.taskFamilyPrefix}${t.app}`)],
      // Named, so the provider need not discover it (newer ones wait 10-40 s to).
      ['container_name', py(t.app)],
      ['cluster', 'CONFIG["cluster"]'],
      ['launch_type', '"FARGATE"'],
      ['overrides', `{"containerOverrides": [{"name": ${py(t.app)}, "command": ${argsExpression(t)}}]}`],
      // Only a task reading the partner's SFTP server may leave the VPC (to it).
      ['network_configuration', t.reads.some((r) => r.store === 'sftp') ? 'NETWORK_EGRESS' : 'NETWORK'],
      ['awslogs_group', 'CONFIG["log_group"]'],
      ['awslogs_region', 'CONFIG["region"]'],
      ['awslogs_stream_prefix', py(`${def.ecs.logStreamPrefix}/${t.app}`)],
      ['region_name', 'CONFIG["region"]'],
      ['propagate_tags', '"TASK_DEFINITION"'],
      ['reattach', 'True'],
      ['wait_for_completion', 'True'],
      ['do_xcom_push', 'True'],
    ];
    // The closing step (a teardown: it runs whatever became of the others) is no news for anyone.
    if (t !== release && def.notifications.onSuccess) args.push(['on_success_callback', `SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject=${py(`${def.dagId}: ${t.id} succeeded`)}, message=SUCCEEDED)`]);
    if (t !== release && def.notifications.onFailure) args.push(['on_failure_callback', `SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject=${py(`${def.dagId}: ${t.id} failed`)}, message=FAILED)`]);
    if (t === landing) return `    if not RAW_EVENTS_QUEUE_URL:\n        ${name(t.id)} = EcsRunTaskOperator(\n${kwargs(args, 12)}\n        )`;
    return `    ${name(t.id)} = EcsRunTaskOperator(\n${kwargs(args, 8)}\n    )`;
  });

  return `${docstring(doc)}

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.amazon.aws.notifications.sns import SnsNotifier
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.sdk import DAG, Asset, AssetWatcher, chain
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

DAG_ID = ${py(def.dagId)}
CONFIG = json.loads(Path(__file__).with_name("trips_pipeline_config.json").read_text())

${preamble()}

NETWORK = {
    "awsvpcConfiguration": {
        "subnets": CONFIG["subnets"],
        "securityGroups": CONFIG["security_groups"],
        "assignPublicIp": "DISABLED",
    }
}
NETWORK_EGRESS = {
    "awsvpcConfiguration": {
        "subnets": CONFIG["subnets"],
        "securityGroups": CONFIG["egress_security_groups"],
        "assignPublicIp": "DISABLED",
    }
}

CRON = CronTriggerTimetable(${py(def.schedule)}, timezone="UTC")
RAW_EVENTS_QUEUE_URL = CONFIG.get("raw_events_queue_url")
SCHEDULE = (
    AssetOrTimeSchedule(
        timetable=CRON,
        assets=[
            Asset(
                name="trips_raw_batch",
                uri="s3://" + CONFIG["raw_bucket"] + ${py(`/${RAW_PREFIX}`)},
                watchers=[AssetWatcher(name="trips_raw_object_created", trigger=MessageQueueTrigger(queue=RAW_EVENTS_QUEUE_URL))],
            )
        ],
    )
    if RAW_EVENTS_QUEUE_URL
    else CRON
)

with DAG(
${kwargs(dagArgs(def, 'DAG_ID', 'SCHEDULE'), 4)}
):
${operators.join('\n\n')}

${orderLines(rest, (id) => (id === release.id ? `${name(id)}.as_teardown()` : name(id)))
  .map((l) => `    ${l}`)
  .join('\n')}
${landing ? `    if not RAW_EVENTS_QUEUE_URL:\n        chain(${name(landing.id)}, ${afterLanding.length === 1 ? name(afterLanding[0].id) : `[${afterLanding.map((t) => name(t.id)).join(', ')}]`})\n` : ''}`;
}
