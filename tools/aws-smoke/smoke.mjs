#!/usr/bin/env node
// End-to-end smoke test on a real AWS account, following docs/aws.md "First run in a new account"
// step by step and saying which step fails: settings (1), the warehouse bootstrapped and writable by
// load-redshift's identity (2, 3), the bundles built (4), then the chain on the committed sample as
// one run, with TRIPS_ENGINE=athena and TRIPS_WAREHOUSE=redshift, and the day's facts read back (5).
// Needs AWS credentials of load-redshift's identity (or one holding the same database role).
//
//   node tools/aws-smoke/smoke.mjs [--ds 2018-05-28]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { ds: { type: 'string', default: '2018-05-28' } } });
const ds = values.ds;
const EXPECTED_FACTS = 1968; // the sample's 2,000 rows less 16 malformed and 16 duplicates

const step = (n, what) => console.log(`aws-smoke: step ${n}: ${what}`);
const fail = (n, why) => {
  console.error(`aws-smoke: step ${n} failed: ${why} (docs/aws.md, "First run in a new account")`);
  process.exit(n === 1 || n === 4 ? 78 : 1);
};

step(1, 'settings');
const required = ['AWS_REGION', 'TRIPS_RAW_BUCKET', 'TRIPS_LAKE_BUCKET', 'TRIPS_ATHENA_WORKGROUP', 'TRIPS_ATHENA_DATABASE', 'TRIPS_REDSHIFT_COPY_ROLE_ARN'];
const missing = required.filter((k) => !process.env[k]);
if (!process.env.TRIPS_REDSHIFT_WORKGROUP && !process.env.TRIPS_REDSHIFT_CLUSTER) missing.push('TRIPS_REDSHIFT_WORKGROUP (or TRIPS_REDSHIFT_CLUSTER)');
if (process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3) missing.push('(unset AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3: this talks to AWS itself)');
if (!/^\d{4}-\d{2}-\d{2}$/.test(ds)) missing.push(`--ds YYYY-MM-DD (got ${ds})`);
if (missing.length > 0) fail(1, `refusing to start; set ${missing.join(', ')}`);

const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
const { RedshiftDataClient, ExecuteStatementCommand, DescribeStatementCommand, GetStatementResultCommand } = await import('@aws-sdk/client-redshift-data');
const region = process.env.AWS_REGION;
const rsd = new RedshiftDataClient({ region });
const where = {
  WorkgroupName: process.env.TRIPS_REDSHIFT_WORKGROUP,
  ClusterIdentifier: process.env.TRIPS_REDSHIFT_CLUSTER,
  Database: process.env.TRIPS_REDSHIFT_DATABASE ?? 'dev',
  SecretArn: process.env.TRIPS_REDSHIFT_SECRET_ARN,
  DbUser: process.env.TRIPS_REDSHIFT_SECRET_ARN ? undefined : process.env.TRIPS_REDSHIFT_DB_USER,
};
/** One row of a query through the Data API, as load-redshift's identity. */
async function queryRow(sql, parameters) {
  const { Id } = await rsd.send(new ExecuteStatementCommand({ ...where, Sql: sql, Parameters: parameters }));
  for (;;) {
    const d = await rsd.send(new DescribeStatementCommand({ Id }));
    if (d.Status === 'FINISHED') break;
    if (d.Status === 'FAILED' || d.Status === 'ABORTED') throw new Error(`query ${Id} ${d.Status}: ${d.Error}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const [row] = (await rsd.send(new GetStatementResultCommand({ Id }))).Records ?? [];
  return (row ?? []).map((f) => f.longValue ?? f.booleanValue ?? f.stringValue ?? null);
}

step('2-3', 'the warehouse is bootstrapped and load-redshift\'s identity may write it');
try {
  const [tables] = await queryRow("select count(*) from information_schema.tables where table_schema = 'trips'");
  if (!(tables > 0)) fail(2, 'schema trips has no tables: an administrator runs `npx trips aws bootstrap` (docs/aws.md, "Bootstrap the warehouse")');
  const [writable] = await queryRow("select has_table_privilege('trips.fact_trips', 'insert') and has_table_privilege('trips.fact_trips', 'delete') and has_schema_privilege('trips', 'usage')");
  if (writable !== true) fail(3, 'this identity cannot write trips.fact_trips: give it the role trips_loader (tag RedshiftDbRoles=trips_loader, or grant role trips_loader)');
} catch (e) {
  fail(3, `cannot query the warehouse as this identity: ${e.message}`);
}

step(4, 'the bundles are built');
const APPS = ['validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift'];
for (const app of APPS) {
  if (!existsSync(join(root, 'dist', 'apps', app, 'main.js'))) fail(4, `dist/apps/${app}/main.js is missing: run npm run build first`);
}

step(5, `the chain on the sample for ${ds}, as one run`);
const key = `trips/ingest_date=${ds}/trips-sample.csv`;
console.log(`aws-smoke: landing the sample as s3://${process.env.TRIPS_RAW_BUCKET}/${key}`);
await new S3Client({ region }).send(
  new PutObjectCommand({ Bucket: process.env.TRIPS_RAW_BUCKET, Key: key, Body: readFileSync(join(root, 'libs/testing/fixtures/sample/trips-sample.csv')), ContentType: 'text/csv' }),
);

const env = { ...process.env, TRIPS_ENGINE: 'athena', TRIPS_WAREHOUSE: 'redshift' };
// One run: the tasks hand the day's lock to each other, as in the DAG; the last one frees it.
const runId = `aws-smoke-${new Date().toISOString()}`;
for (const app of APPS) {
  const t0 = Date.now();
  const run = spawnSync(process.execPath, [join(root, 'dist', 'apps', app, 'main.js'), '--ds', ds, '--run-id', runId], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const summary = run.stdout.trim().split('\n').at(-1) ?? '';
  console.log(`aws-smoke: ${app} exited ${run.status} in ${((Date.now() - t0) / 1000).toFixed(0)} s ${summary}`);
  if (run.status !== 0) {
    spawnSync(process.execPath, [join(root, 'dist', 'apps', 'load-redshift', 'main.js'), '--ds', ds, '--run-id', runId, '--release-lock'], { env, stdio: 'inherit' });
    fail(5, `${app} exited ${run.status}`);
  }
}

const [facts] = await queryRow('select count(*) from trips.fact_trips where ds = cast(:ds as date)', [{ name: 'ds', value: ds }]);
console.log(`aws-smoke: trips.fact_trips holds ${facts} trips for ${ds} (expected ${EXPECTED_FACTS})`);
process.exit(facts === EXPECTED_FACTS ? 0 : 1);
