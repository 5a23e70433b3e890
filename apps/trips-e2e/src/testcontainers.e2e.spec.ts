import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { sftpSettings, startSftpServer, type LocalSftp } from '@trips/local';
import { PIPELINE, topologicalOrder } from '@trips/pipeline';
import { runChain, TASK_APPS } from './bundles';
import { ROOT, SAMPLE } from './trips';

/**
 * The apps against LocalStack and PostgreSQL in containers (testcontainers) instead of the embedded
 * stand-ins, reached through the same settings (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, TRIPS_PG_URL).
 * One setting selects them, TRIPS_TEST_CONTAINERS: `auto` (default) runs them when a Docker engine
 * answers, `off` never; without an engine they are skipped with a one-line notice.
 */
const mode = process.env.TRIPS_TEST_CONTAINERS ?? 'auto';
const engine = mode !== 'off' && spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
if (!engine) console.warn(`testcontainers suites skipped: ${mode === 'off' ? 'TRIPS_TEST_CONTAINERS=off' : 'no Docker engine answers (docker info)'}`);
const suite = engine ? describe : describe.skip;

suite('the pipeline on LocalStack and PostgreSQL containers', () => {
  const work = mkdtempSync(join(tmpdir(), 'trips-containers-'));
  let localstack: { getConnectionUri(): string; stop(): Promise<unknown> };
  let postgres: { getConnectionUri(): string; stop(): Promise<unknown> };
  let sftp: LocalSftp;

  beforeAll(async () => {
    const { LocalstackContainer } = await import('@testcontainers/localstack');
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    // The versions of local/compose.yaml.
    [localstack, postgres] = await Promise.all([
      new LocalstackContainer('localstack/localstack:4.10.0').withEnvironment({ SERVICES: 's3,sqs,sns,kms,secretsmanager', LOCALSTACK_AUTH_TOKEN: process.env.LOCALSTACK_AUTH_TOKEN ?? '' }).start(),
      new PostgreSqlContainer('postgres:18.1-bookworm').withDatabase('trips').withUsername('trips').withPassword('trips').start(),
    ]);
    const s3 = new S3Client({ region: 'eu-central-1', endpoint: localstack.getConnectionUri(), forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    for (const Bucket of ['trips-raw', 'trips-lake']) await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-central-1' } }));
    const inbox = join(work, 'sftp', 'inbox');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(join(inbox, 'trips-sample.csv'), readFileSync(SAMPLE));
    utimesSync(join(inbox, 'trips-sample.csv'), 1_527_000_000, 1_527_000_000);
    sftp = await startSftpServer({ root: join(work, 'sftp') });
  }, 600_000);
  afterAll(async () => {
    await Promise.all([localstack?.stop(), postgres?.stop(), sftp?.close()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the whole chain for a day from the bundles and loads the sample\'s trips', async () => {
    const bundles = Object.fromEntries(TASK_APPS.map((app) => [app, { dir: ROOT, entryPoint: [process.execPath, join(ROOT, 'dist/apps', app, 'main.js')] }]));
    const env = {
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: localstack.getConnectionUri(),
      AWS_ENDPOINT_URL_S3: localstack.getConnectionUri(),
      TRIPS_RAW_BUCKET: 'trips-raw',
      TRIPS_LAKE_BUCKET: 'trips-lake',
      TRIPS_PG_URL: postgres.getConnectionUri(),
      TRIPS_WORK_DIR: join(work, 'scratch'),
      ...sftpSettings(sftp, '/inbox', { minAgeSeconds: 0, stableSeconds: 0 }),
    };
    const results = await runChain(bundles, env, '2018-05-28', 'containers-run');
    expect(results.map((r) => [r.task, r.status, r.status === 0 ? '' : r.stderr.slice(-1500)])).toEqual(topologicalOrder(PIPELINE.tasks).map((t) => [t.id, 0, '']));
    const { Client } = await import('pg');
    const client = new Client({ connectionString: postgres.getConnectionUri() });
    await client.connect();
    const { rows } = await client.query('select count(*)::int as n from trips.fact_trips');
    await client.end();
    expect(rows[0].n).toBe(1968);
  }, 600_000);
});
