#!/usr/bin/env node
// End-to-end smoke test on a real AWS account (docs/aws.md): lands the committed sample in the raw
// bucket, runs the task bundles with TRIPS_ENGINE=athena and TRIPS_WAREHOUSE=redshift, and reads the
// day's fact count back through the Redshift Data API. Needs `npm run build` and AWS credentials.
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

const required = ['AWS_REGION', 'TRIPS_RAW_BUCKET', 'TRIPS_LAKE_BUCKET', 'TRIPS_ATHENA_WORKGROUP', 'TRIPS_ATHENA_DATABASE', 'TRIPS_REDSHIFT_COPY_ROLE_ARN'];
const missing = required.filter((k) => !process.env[k]);
if (!process.env.TRIPS_REDSHIFT_WORKGROUP && !process.env.TRIPS_REDSHIFT_CLUSTER) missing.push('TRIPS_REDSHIFT_WORKGROUP (or TRIPS_REDSHIFT_CLUSTER)');
if (process.env.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL_S3) missing.push('(unset AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3: this talks to AWS itself)');
if (!/^\d{4}-\d{2}-\d{2}$/.test(ds)) missing.push(`--ds YYYY-MM-DD (got ${ds})`);
if (missing.length > 0) {
  console.error(`aws-smoke: refusing to start; set ${missing.join(', ')} (see docs/aws.md)`);
  process.exit(78);
}
const APPS = ['validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift'];
for (const app of APPS) {
  if (!existsSync(join(root, 'dist', 'apps', app, 'main.js'))) {
    console.error(`aws-smoke: dist/apps/${app}/main.js is missing: run npm run build first`);
    process.exit(78);
  }
}

const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
const { RedshiftDataClient, ExecuteStatementCommand, DescribeStatementCommand, GetStatementResultCommand } = await import('@aws-sdk/client-redshift-data');
const region = process.env.AWS_REGION;

const key = `trips/ingest_date=${ds}/trips-sample.csv`;
console.log(`aws-smoke: landing the sample as s3://${process.env.TRIPS_RAW_BUCKET}/${key}`);
await new S3Client({ region }).send(
  new PutObjectCommand({ Bucket: process.env.TRIPS_RAW_BUCKET, Key: key, Body: readFileSync(join(root, 'libs/testing/fixtures/sample/trips-sample.csv')), ContentType: 'text/csv' }),
);

const env = { ...process.env, TRIPS_ENGINE: 'athena', TRIPS_WAREHOUSE: 'redshift' };
for (const app of APPS) {
  const t0 = Date.now();
  const run = spawnSync(process.execPath, [join(root, 'dist', 'apps', app, 'main.js'), '--ds', ds], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const summary = run.stdout.trim().split('\n').at(-1) ?? '';
  console.log(`aws-smoke: ${app} exited ${run.status} in ${((Date.now() - t0) / 1000).toFixed(0)} s ${summary}`);
  if (run.status !== 0) process.exit(1);
}

const rsd = new RedshiftDataClient({ region });
const where = {
  WorkgroupName: process.env.TRIPS_REDSHIFT_WORKGROUP,
  ClusterIdentifier: process.env.TRIPS_REDSHIFT_CLUSTER,
  Database: process.env.TRIPS_REDSHIFT_DATABASE ?? 'dev',
  SecretArn: process.env.TRIPS_REDSHIFT_SECRET_ARN,
  DbUser: process.env.TRIPS_REDSHIFT_SECRET_ARN ? undefined : process.env.TRIPS_REDSHIFT_DB_USER,
};
const { Id } = await rsd.send(new ExecuteStatementCommand({ ...where, Sql: 'select count(*) from trips.fact_trips where ds = cast(:ds as date)', Parameters: [{ name: 'ds', value: ds }] }));
for (;;) {
  const d = await rsd.send(new DescribeStatementCommand({ Id }));
  if (d.Status === 'FINISHED') break;
  if (d.Status === 'FAILED' || d.Status === 'ABORTED') throw new Error(`count query ${Id} ${d.Status}: ${d.Error}`);
  await new Promise((r) => setTimeout(r, 1000));
}
const facts = Number((await rsd.send(new GetStatementResultCommand({ Id }))).Records?.[0]?.[0]?.longValue ?? -1);
console.log(`aws-smoke: trips.fact_trips holds ${facts} trips for ${ds} (expected ${EXPECTED_FACTS})`);
process.exit(facts === EXPECTED_FACTS ? 0 : 1);
