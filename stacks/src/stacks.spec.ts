import { MWAA_CONFIG_KEYS, renderMwaaDag } from '@trips/dag-generator';
import { bookkeeping, CATALOG, glueTables, lockReleaseTask, partitionProjection, PIPELINE, RAW_EVENTS, type PipelineDefinition } from '@trips/pipeline';
import { appSettings } from '@trips/runtime';
import { bootstrapStatements, LOADER_ROLE } from '@trips/warehouse';
import type { z } from 'zod';
import { environments } from './environments';
import { attachedTo, list, ref, resources, statements, synthesize, synthesized, type PolicyStatement, type Synth } from './fixtures/synth';
import { keyPattern } from './policies';
import { requiredSetting } from './task-environment';
import { INTERFACE_ENDPOINTS, WAREHOUSE_DATABASE } from './trips-stack';

const ENVS = environments().map((e) => e.name);
const APPS = [...new Set(PIPELINE.tasks.map((t) => t.app))];
const unescape = (s: string) => s.replace(/\$\$\{/g, '${');

/** Every statement of every IAM role policy, with the role's Terraform name. */
function rolePolicies(s: Synth): Array<{ role: string; statement: PolicyStatement }> {
  return resources(s, 'aws_iam_role_policy').flatMap(([, body]) => statements(body.policy).map((statement) => ({ role: String(body.role), statement })));
}

/** The policy statements of an app's task role. */
function taskRoleStatements(s: Synth, app: string): PolicyStatement[] {
  return rolePolicies(s)
    .filter((p) => p.role === ref('aws_iam_role', `task-role-${app}`, 'id'))
    .map((p) => p.statement);
}

const containers = (s: Synth) =>
  resources(s, 'aws_ecs_task_definition').map(([name, body]) => ({ name, body, container: (JSON.parse(String(body.container_definitions)) as Array<Record<string, unknown>>)[0] }));

describe.each(ENVS)('the %s stack', (envName) => {
  const s = synthesized(envName);
  const env = environments().find((e) => e.name === envName)!;

  it('encrypts every bucket with the data key, blocks public access, refuses plain HTTP, versions and cleans up uploads', () => {
    const buckets = resources(s, 'aws_s3_bucket');
    expect(buckets.length).toBe(4);
    for (const [name] of buckets) {
      const id = ref('aws_s3_bucket', name, 'id');
      const [enc] = attachedTo(s, 'aws_s3_bucket_server_side_encryption_configuration', 'bucket', id);
      expect({ name, rule: enc?.rule }).toEqual({ name, rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: ref('aws_kms_key', 'data-key', 'arn') }, bucket_key_enabled: true }] });
      const [block] = attachedTo(s, 'aws_s3_bucket_public_access_block', 'bucket', id);
      expect({ name, block }).toMatchObject({ name, block: { bucket: id, block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true } });
      const [policy] = attachedTo(s, 'aws_s3_bucket_policy', 'bucket', id);
      const tls = statements(policy.policy).find((st) => st.Effect === 'Deny' && JSON.stringify(st.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': false } }));
      expect({ name, tls: tls?.Action }).toEqual({ name, tls: ['s3:*'] });
      expect(attachedTo(s, 'aws_s3_bucket_versioning', 'bucket', id)[0]?.versioning_configuration).toEqual({ status: 'Enabled' });
      const [lifecycle] = attachedTo(s, 'aws_s3_bucket_lifecycle_configuration', 'bucket', id);
      expect(JSON.stringify(lifecycle.rule)).toContain('"abort_incomplete_multipart_upload":[{"days_after_initiation":2}]');
      expect(attachedTo(s, 'aws_s3_bucket_ownership_controls', 'bucket', id)[0]?.rule).toEqual({ object_ownership: 'BucketOwnerEnforced' });
    }
  });

  it('leaves the lake readable by the presigned URLs Redshift COPY uses: no network condition in its policy', () => {
    const [policy] = attachedTo(s, 'aws_s3_bucket_policy', 'bucket', ref('aws_s3_bucket', 'lake-bucket', 'id'));
    expect(String(policy.policy)).not.toMatch(/aws:SourceVpce|aws:SourceVpc|aws:SourceIp/);
  });

  it('rotates every key, and encrypts every log group, the topic and the queue', () => {
    const keys = resources(s, 'aws_kms_key');
    expect(keys.map(([n]) => n).sort()).toEqual(['data-key', 'logs-key', 'secrets-key']);
    for (const [name, key] of keys) expect({ name, rotation: key.enable_key_rotation }).toEqual({ name, rotation: true });
    for (const [name, group] of resources(s, 'aws_cloudwatch_log_group')) {
      expect({ name, key: group.kms_key_id, days: group.retention_in_days }).toEqual({ name, key: ref('aws_kms_key', 'logs-key', 'arn'), days: env.logRetentionDays });
    }
    for (const [, topic] of resources(s, 'aws_sns_topic')) expect(topic.kms_master_key_id).toBe(ref('aws_kms_key', 'data-key', 'arn'));
    for (const [, queue] of resources(s, 'aws_sqs_queue')) expect(queue.sqs_managed_sse_enabled).toBe(true);
  });

  it('defines one Fargate task definition and one task role per app of the pipeline, sized by the definition', () => {
    const defs = resources(s, 'aws_ecs_task_definition');
    expect(defs.map(([, d]) => d.family).sort()).toEqual(APPS.map((a) => `${PIPELINE.ecs.taskFamilyPrefix}${a}`).sort());
    expect(new Set(defs.map(([, d]) => d.task_role_arn)).size).toBe(APPS.length);
    for (const app of APPS) {
      const [, d] = defs.find(([, x]) => x.family === `${PIPELINE.ecs.taskFamilyPrefix}${app}`)!;
      const tasks = [...PIPELINE.tasks, lockReleaseTask()].filter((t) => t.app === app);
      expect({ app, cpu: d.cpu, memory: d.memory }).toEqual({ app, cpu: String(Math.max(...tasks.map((t) => t.cpu))), memory: String(Math.max(...tasks.map((t) => t.memoryMiB))) });
      expect(d.task_role_arn).toBe(ref('aws_iam_role', `task-role-${app}`, 'arn'));
      expect(d.execution_role_arn).toBe(ref('aws_iam_role', 'execution-role', 'arn'));
      expect(d.requires_compatibilities).toEqual(['FARGATE']);
    }
  });

  it('runs every container as the non-root user, from the bundle entry point, read-only, logging to the task log group', () => {
    for (const { name, container } of containers(s)) {
      expect({ name, user: container.user }).toEqual({ name, user: PIPELINE.ecs.user });
      expect(String(container.user)).not.toMatch(/^(0|root)(:|$)/);
      expect({ name, entryPoint: container.entryPoint }).toEqual({ name, entryPoint: PIPELINE.ecs.entryPoint });
      expect({ name, readonly: container.readonlyRootFilesystem }).toEqual({ name, readonly: true });
      expect({ name, image: container.image }).toEqual({ name, image: `${ref('aws_ecr_repository', `repo-${container.name}`, 'repository_url')}:${env.imageTag}` });
      expect({ name, logs: container.logConfiguration }).toEqual({
        name,
        logs: { logDriver: 'awslogs', options: { 'awslogs-group': ref('aws_cloudwatch_log_group', 'task-logs', 'name'), 'awslogs-region': env.region, 'awslogs-stream-prefix': PIPELINE.ecs.logStreamPrefix } },
      });
    }
  });

  it('gives each container exactly the settings its app parses, every required one among them', () => {
    for (const { container } of containers(s)) {
      const shape = appSettings(String(container.name));
      const names = (container.environment as Array<{ name: string }>).map((e) => e.name);
      expect(names.filter((n) => !(n in shape))).toEqual([]);
      const required = Object.keys(shape).filter((k) => requiredSetting(shape[k] as z.ZodType));
      expect(required.filter((k) => !names.includes(k))).toEqual([]);
      expect(names).toContain('TRIPS_ENGINE');
      expect((container.environment as Array<{ name: string; value: string }>).find((e) => e.name === 'TRIPS_ENGINE')?.value).toBe('athena');
    }
  });

  it('defines one Glue table per catalog table, columns and types from the catalog, partitioned by ds (string) with the layout\'s projection', () => {
    const tables = resources(s, 'aws_glue_catalog_table');
    expect(tables.map(([, t]) => t.name).sort()).toEqual(CATALOG.map((t) => t.id).sort());
    const expected = glueTables({ raw: ref('aws_s3_bucket', 'raw-bucket', 'bucket'), lake: ref('aws_s3_bucket', 'lake-bucket', 'bucket') });
    for (const [, t] of tables) {
      const spec = expected.find((e) => e.name === t.name)!;
      const sd = t.storage_descriptor as { columns: unknown[]; location: string; ser_de_info: { serialization_library: string; parameters: unknown }; input_format: string };
      const catalogTable = CATALOG.find((c) => c.id === t.name)!;
      expect({ t: t.name, columns: (sd.columns as Array<{ name: string }>).map((c) => c.name) }).toEqual({ t: t.name, columns: catalogTable.columns.map((c) => c.name) });
      expect({ t: t.name, columns: sd.columns }).toEqual({ t: t.name, columns: spec.columns });
      expect(t.partition_keys).toEqual([{ name: 'ds', type: 'string' }]);
      const params = Object.fromEntries(Object.entries(t.parameters as Record<string, string>).map(([k, v]) => [k, unescape(v)]));
      expect(params).toMatchObject(partitionProjection({ raw: '', lake: ref('aws_s3_bucket', 'lake-bucket', 'bucket') }, catalogTable));
      expect({ t: t.name, serde: sd.ser_de_info.serialization_library }).toEqual({ t: t.name, serde: spec.serde.library });
      // `${ds}` is Athena's, escaped from Terraform.
      expect((t.parameters as Record<string, string>)['storage.location.template']).toContain('ds=$${ds}/');
    }
    const validated = tables.find(([, t]) => t.name === 'validated_trips')![1];
    expect((validated.storage_descriptor as { ser_de_info: { serialization_library: string } }).ser_de_info.serialization_library).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect((validated.parameters as Record<string, string>)['skip.header.line.count']).toBeUndefined();
    const quarantine = tables.find(([, t]) => t.name === 'quarantined_trips')![1];
    expect((quarantine.storage_descriptor as { ser_de_info: { serialization_library: string } }).ser_de_info.serialization_library).toBe('org.apache.hadoop.hive.serde2.OpenCSVSerde');
    expect((quarantine.parameters as Record<string, string>)['skip.header.line.count']).toBe('1');
    expect((quarantine.parameters as Record<string, string>)['storage.location.template']).toMatch(/\/quarantine\/trips\/ds=\$\$\{ds\}\/rows\/$/);
  });

  it('runs Athena in an engine-v3 workgroup that enforces its result location, encryption and scan cutoff', () => {
    const [[, wg]] = resources(s, 'aws_athena_workgroup');
    const c = wg.configuration as Record<string, unknown>;
    expect(c).toMatchObject({ enforce_workgroup_configuration: true, bytes_scanned_cutoff_per_query: env.athenaBytesScannedCutoff, engine_version: { selected_engine_version: 'Athena engine version 3' } });
    expect(c.result_configuration).toEqual({
      output_location: `s3://${ref('aws_s3_bucket', 'athena-results-bucket', 'bucket')}/`,
      encryption_configuration: { encryption_option: 'SSE_KMS', kms_key_arn: ref('aws_kms_key', 'data-key', 'arn') },
    });
  });

  it('starts runs only for .csv and .csv.gz files landing under the raw prefix', () => {
    const [[, n]] = resources(s, 'aws_s3_bucket_notification');
    expect(n.bucket).toBe(ref('aws_s3_bucket', 'raw-bucket', 'id'));
    const rule = (suffix: string) => ({ queue_arn: ref('aws_sqs_queue', 'raw-events', 'arn'), events: [...RAW_EVENTS.events], filter_prefix: RAW_EVENTS.prefix, filter_suffix: suffix });
    expect(n.queue).toEqual([rule('.csv'), rule('.csv.gz')]);
  });

  it('lets each task role touch only the S3 prefixes its tasks read and write, from the definition', () => {
    const release = lockReleaseTask();
    for (const app of APPS) {
      const tasks = [...PIPELINE.tasks, release].filter((t) => t.app === app);
      const st = taskRoleStatements(s, app);
      const writes = st.filter((x) => list(x.Action).includes('s3:PutObject') && x.Sid?.startsWith('Write')).flatMap((x) => list(x.Resource));
      const staging = tasks.some((t) => t.builds) ? ['_staging/athena/'] : [];
      const expected = [
        ...new Set(
          tasks
            .flatMap((t) => [...t.writes, ...bookkeeping(t)])
            .flatMap((r) => (r.store === 'raw' || r.store === 'lake' ? [`${ref('aws_s3_bucket', `${r.store}-bucket`, 'arn')}/${keyPattern(r.prefix)}*`] : [])),
        ),
        ...staging.map((p) => `${ref('aws_s3_bucket', 'lake-bucket', 'arn')}/${p}*`),
      ];
      expect({ app, writes: writes.sort() }).toEqual({ app, writes: expected.sort() });
      // Nothing else writes S3 but the Athena results bucket.
      const otherWrites = st.filter((x) => list(x.Action).some((a) => /^s3:(Put|Delete)/.test(a)) && !x.Sid?.startsWith('Write') && x.Sid !== 'AthenaResults');
      expect({ app, otherWrites }).toEqual({ app, otherWrites: [] });
    }
    // The model tasks cannot write the raw bucket, nor validate-raw the models.
    expect(JSON.stringify(taskRoleStatements(s, 'clean-stage'))).not.toContain('raw-bucket.arn}/');
    expect(JSON.stringify(taskRoleStatements(s, 'validate-raw'))).not.toContain('/model/');
  });

  it('allows a wildcard resource only where AWS offers no narrower one, each for its reason', () => {
    const ALLOWED: Record<string, string> = {
      'RedshiftDataStatements': 'DescribeStatement, GetStatementResult and CancelStatement take no resource; a caller sees only its own statements',
      'RegistryLogin': 'ecr:GetAuthorizationToken takes no resource',
      'ListTasks': 'ecs:ListTasks takes no resource; it is limited to the cluster by condition',
      'Metrics': 'cloudwatch:PutMetricData and logs:DescribeLogGroups take no resource (MWAA)',
      'CeleryQueues': "MWAA's Celery queues are in an AWS-owned account: the ARN names no account",
    };
    const wild = rolePolicies(s).filter(({ statement }) => list(statement.Resource).some((r) => r === '*' || /^arn:aws:[^:]+:[^:]*:\*:/.test(r)));
    expect([...new Set(wild.map((w) => w.statement.Sid))].sort()).toEqual(Object.keys(ALLOWED).filter((k) => wild.some((w) => w.statement.Sid === k)).sort());
    for (const w of wild) expect(ALLOWED[w.statement.Sid ?? '']).toBeDefined();
    // No action wildcard in any role policy but the read-only families MWAA needs on its own bucket.
    const actionWild = rolePolicies(s).flatMap(({ statement }) => list(statement.Action).filter((a) => a.includes('*')).map((a) => `${statement.Sid}:${a}`));
    expect(actionWild.sort()).toEqual(['DagBucket:s3:GetBucket*', 'DagBucket:s3:GetObject*', 'DagBucket:s3:List*', 'DataKey:kms:GenerateDataKey*'].sort());
  });

  it('lets MWAA run exactly the pipeline\'s task definitions and pass exactly their roles', () => {
    const mwaa = rolePolicies(s).filter((p) => p.role === ref('aws_iam_role', 'mwaa-role', 'id')).map((p) => p.statement);
    const run = mwaa.find((x) => x.Sid === 'RunPipelineTasks')!;
    expect(list(run.Resource).map((r) => r.replace(/^.*task-definition\//, '')).sort()).toEqual(APPS.map((a) => `${PIPELINE.ecs.taskFamilyPrefix}${a}:*`).sort());
    const pass = mwaa.find((x) => x.Sid === 'PassTaskRoles')!;
    expect(list(pass.Resource).sort()).toEqual([...APPS.map((a) => ref('aws_iam_role', `task-role-${a}`, 'arn')), ref('aws_iam_role', 'execution-role', 'arn')].sort());
    expect(pass.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect(mwaa.find((x) => x.Sid === 'TagOnCreate')?.Condition).toEqual({ StringEquals: { 'ecs:CreateAction': 'RunTask' } });
  });

  it('uploads the generated DAG and the config it reads, with every key it needs', () => {
    const objects = Object.fromEntries(resources(s, 'aws_s3_object').map(([, o]) => [o.key, o]));
    expect(objects['dags/trips_pipeline.py'].content).toBe(renderMwaaDag(PIPELINE));
    const config = JSON.parse(String(objects['dags/trips_pipeline_config.json'].content)) as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual([...MWAA_CONFIG_KEYS].sort());
    expect(config.raw_events_queue_url).toBe(ref('aws_sqs_queue', 'raw-events', 'url'));
  });

  it('reaches AWS from private subnets through endpoints; only the partner\'s address goes out through the NAT gateway', () => {
    const services = resources(s, 'aws_vpc_endpoint').map(([, e]) => String(e.service_name).replace(`com.amazonaws.${env.region}.`, ''));
    expect(services.sort()).toEqual(['s3', ...INTERFACE_ENDPOINTS].sort());
    const privateRoutes = resources(s, 'aws_route').filter(([, r]) => r.route_table_id === ref('aws_route_table', 'private-routes', 'id'));
    expect(privateRoutes.map(([, r]) => [r.destination_cidr_block, r.nat_gateway_id])).toEqual([[env.partner.cidr, ref('aws_nat_gateway', 'nat', 'id')]]);
    expect(resources(s, 'aws_subnet').filter(([, sn]) => sn.map_public_ip_on_launch === true)).toEqual([]);
  });

  it('keeps Redshift private, gives it the COPY role, and bootstraps the loader\'s rights as the administrator', () => {
    const [[, wg]] = resources(s, 'aws_redshiftserverless_workgroup');
    expect(wg.publicly_accessible).toBe(false);
    const [[, ns]] = resources(s, 'aws_redshiftserverless_namespace');
    expect(ns).toMatchObject({ manage_admin_password: true, iam_roles: [ref('aws_iam_role', 'copy-role', 'arn')], kms_key_id: ref('aws_kms_key', 'data-key', 'arn') });
    const boot = resources(s, 'aws_redshiftdata_statement').map(([, b]) => b);
    expect(boot.map((b) => b.sql)).toEqual(expect.arrayContaining(bootstrapStatements(WAREHOUSE_DATABASE)));
    expect(boot).toHaveLength(bootstrapStatements(WAREHOUSE_DATABASE).length);
    for (const b of boot) expect(b.secret_arn).toBe(ref('aws_redshiftserverless_namespace', 'redshift-namespace', 'admin_password_secret_arn'));
    const loaders = resources(s, 'aws_iam_role').filter(([, r]) => (r.tags as Record<string, string> | undefined)?.RedshiftDbRoles === LOADER_ROLE).map(([n]) => n);
    expect(loaders).toEqual(['task-role-load-redshift']);
  });
});

describe('the stacks as configuration, not copies', () => {
  it('differ between dev and prod in sizes and retention only, not in resources', () => {
    const kinds = (s: Synth) => Object.fromEntries(Object.entries(s.resource).map(([k, v]) => [k, Object.keys(v).sort()]));
    expect(kinds(synthesized('prod'))).toEqual(kinds(synthesized('dev')));
  });

  it('without file-arrival events: no queue, no notification, and the DAG lands the files itself', () => {
    const s = synthesize({ ingestion: 'sftp-scheduled' });
    expect(resources(s, 'aws_sqs_queue')).toEqual([]);
    expect(resources(s, 'aws_s3_bucket_notification')).toEqual([]);
    expect(resources(s, 'aws_ecs_service')).toEqual([]);
    const config = JSON.parse(String(resources(s, 'aws_s3_object').find(([, o]) => String(o.key).endsWith('_config.json'))![1].content));
    expect(config.raw_events_queue_url).toBeUndefined();
  });

  it('with AWS Transfer Family instead of ingest-sftp: the workflow copies uploads into their day\'s batch; no watcher, no NAT', () => {
    const s = synthesize({ ingestion: 'transfer-family' });
    const [[, wf]] = resources(s, 'aws_transfer_workflow');
    const steps = wf.steps as Array<{ type: string; copy_step_details?: { destination_file_location: { s3_file_location: { key: string } } } }>;
    expect(steps.map((x) => x.type)).toEqual(['COPY', 'DELETE']);
    expect(steps[0].copy_step_details?.destination_file_location.s3_file_location.key).toBe('trips/ingest_date=$${transfer:UploadDate}/');
    const [[, user]] = resources(s, 'aws_transfer_user');
    expect(user.home_directory_mappings).toEqual([{ entry: '/', target: `/${ref('aws_s3_bucket', 'raw-bucket', 'bucket')}/inbox` }]);
    expect(resources(s, 'aws_ecs_service')).toEqual([]);
    expect(resources(s, 'aws_nat_gateway')).toEqual([]);
    expect(resources(s, 'aws_s3_bucket_notification')).toHaveLength(1);
  });
});

describe('adding a task to the pipeline definition', () => {
  const def: PipelineDefinition = {
    ...PIPELINE,
    tasks: [
      ...PIPELINE.tasks,
      { ...PIPELINE.tasks[1], id: 'audit_day', app: 'audit-day', description: 'Audit the day.', dependsOn: ['load_redshift'], reads: [{ store: 'lake', prefix: 'model/fact_trips/ds={{ ds }}/' }], writes: [{ store: 'lake', prefix: 'audit/ds={{ ds }}/' }], cpu: 512, memoryMiB: 1024 },
    ],
  };
  const s = synthesize({}, def);

  it('adds its task definition, its role with permissions derived from what it reads and writes, and its DAG task', () => {
    const [, task] = resources(s, 'aws_ecs_task_definition').find(([, d]) => d.family === 'trips-audit-day')!;
    expect(task).toMatchObject({ cpu: '512', memory: '1024', task_role_arn: ref('aws_iam_role', 'task-role-audit-day', 'arn') });
    const policies = resources(s, 'aws_iam_role_policy').filter(([, p]) => p.role === ref('aws_iam_role', 'task-role-audit-day', 'id'));
    const st = statements(policies[0][1].policy);
    const lake = ref('aws_s3_bucket', 'lake-bucket', 'arn');
    expect(st.find((x) => x.Sid === 'WriteLake')?.Resource).toEqual([`${lake}/audit/ds=*/*`, `${lake}/manifests/audit_day/*`, `${lake}/locks/*`]);
    expect(st.find((x) => x.Sid === 'ReadLake')?.Resource).toEqual(expect.arrayContaining([`${lake}/model/fact_trips/ds=*/*`]));
    const dag = String(resources(s, 'aws_s3_object').find(([, o]) => String(o.key).endsWith('.py'))![1].content);
    expect(dag).toContain('    audit_day = EcsRunTaskOperator(\n        task_id="audit_day",');
    expect(dag).toContain('task_definition="trips-audit-day"');
    const mwaa = resources(s, 'aws_iam_role_policy').find(([, p]) => p.role === ref('aws_iam_role', 'mwaa-role', 'id'))![1];
    expect(JSON.stringify(statements(mwaa.policy).find((x) => x.Sid === 'RunPipelineTasks')?.Resource)).toContain('task-definition/trips-audit-day:*');
  });
});
