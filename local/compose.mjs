#!/usr/bin/env node
// The Docker local stack (local/compose.yaml), for machines with a Docker engine:
//   npm run local:compose -- up     build the bundles, write the SFTP host key, start everything, print where it is
//   npm run local:compose -- down   stop it (the warehouse volume stays; `down --volumes` drops it)
// TRIPS_AWS_STANDIN=localstack uses LocalStack (with LOCALSTACK_AUTH_TOKEN) instead of moto's server.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appManifest } from '../tools/container/manifest.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const STATE = join(ROOT, 'local', '.compose');
const APPS = ['ingest-sftp', 'validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift'];
const profile = process.env.TRIPS_AWS_STANDIN ?? 'moto';
const [action, ...rest] = process.argv.slice(2);

const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const compose = (args, env) => run('docker', ['compose', '-f', 'local/compose.yaml', '--profile', profile, ...args], env);

/** The SFTP server's host key (written once) and its OpenSSH SHA256 fingerprint, which ingest-sftp pins. */
function hostKey() {
  const { utils } = createRequire(import.meta.url)('ssh2');
  const path = join(STATE, 'ssh_host_ed25519_key');
  if (!existsSync(path)) writeFileSync(path, utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
  const key = utils.parseKey(readFileSync(path));
  return `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
}

if (action === 'up') {
  mkdirSync(join(STATE, 'notices'), { recursive: true });
  run('npx', ['nx', 'run-many', '-t', 'build', '-p', ...APPS]);
  // One install for every bundle: the union of their runtime packages.
  const dependencies = Object.assign({}, ...APPS.map((app) => appManifest(app).dependencies));
  writeFileSync(join(STATE, 'package.json'), `${JSON.stringify({ name: 'trips-local-bundles', private: true, dependencies }, null, 2)}\n`);
  const env = { TRIPS_SFTP_HOST_KEY_SHA256: hostKey() };
  compose(['up', '-d', '--build', '--wait', ...rest], env);
  // The buckets the apps expect, on the AWS stand-in.
  const { S3Client, CreateBucketCommand } = createRequire(import.meta.url)('@aws-sdk/client-s3');
  const s3 = new S3Client({ region: 'eu-central-1', endpoint: 'http://localhost:4566', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  for (const Bucket of ['trips-raw', 'trips-lake']) {
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-central-1' } })).catch((e) => {
      if (!/BucketAlready(OwnedByYou|Exists)/.test(e.name)) throw e;
    });
  }
  console.log(`
The Docker local stack is up (AWS stand-in: ${profile}):
  Airflow UI       http://localhost:8080   (user admin; password: docker compose -f local/compose.yaml exec airflow cat /opt/airflow/simple_auth_manager_passwords.json.generated)
  DAG              trips_pipeline_local    (unpause it: today's run lands the sample from the SFTP inbox and loads it)
  notices          local/.compose/notices/notices.jsonl   (one JSON line per task notice)
  S3, SQS, KMS…    http://localhost:4566   (buckets trips-raw and trips-lake; credentials test/test)
  warehouse        postgres://trips:trips@localhost:5432/trips   (schema trips)
  partner SFTP     sftp -P 2222 trips@localhost   (password trips; /inbox holds the sample)
  task logs        the Airflow UI, or: docker compose -f local/compose.yaml logs -f airflow
Stop it with: npm run local:compose -- down`);
} else if (action === 'down') {
  compose(['down', ...rest], { TRIPS_SFTP_HOST_KEY_SHA256: existsSync(join(STATE, 'ssh_host_ed25519_key')) ? hostKey() : 'SHA256:unused' });
} else {
  console.error('usage: npm run local:compose -- up|down [docker compose options]');
  process.exit(64);
}
