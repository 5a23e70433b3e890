import { randomUUID } from 'node:crypto';
import { join, relative } from 'node:path';
import { UsageError, parseDs } from '@trips/core';
import { readStandingStack, readLocalAirflow, stackEnv, stackStore, startStandingStack, stopStack } from '@trips/local';
import { lockKey } from '@trips/pipeline';
import { DsLock } from '@trips/storage';
import { defineCommand, type Flags } from './args';
import { describeBatch, inputFiles, landBatch } from './land';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

const FLAGS: Flags = {
  json: { type: 'boolean', description: 'env: print the environment as one JSON object instead of export lines' },
  input: { type: 'string', value: 'PATH', description: 'land: CSV file or folder of CSV files' },
  ds: { type: 'string', value: 'YYYY-MM-DD', description: 'land: the day (ingest date) to land them as' },
};

const COMMAND = {
  name: 'trips local',
  description: `The standing local stack for the local Airflow (each task its own process): the S3 server and
PostgreSQL of the embedded mode, on the same state folder, an SFTP server serving
<state>/sftp/inbox as the partner's folder, moto's server (KMS, Secrets Manager, SNS; with
Python 3.10+), and a receiver of the local DAG's notices (<state>/notices.jsonl), left running in
the background.
  up    start them (no-op when already up); ports and pids go to <state>/stack.json
  down  stop them, the local Airflow of npm run local:airflow, and any stand-in a killed trips
        command left running (the data stays)
  env   print the environment the apps need (eval "$(npx trips local env)")
  land  put files into the raw bucket as a day's batch, as the SFTP ingestion would`,
  options: FLAGS,
  positionals: '<action>',
};

export const localCommand = defineCommand(COMMAND, async ({ values, positionals }) => {
  const [action, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`trips local: unexpected argument "${extra[0]}"`);
  const root = workspaceRoot();
  const settings = cliSettings(root);
  const stateDir = settings.TRIPS_STATE_DIR;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const shown = relative(process.cwd(), stateDir) || '.';

  switch (action) {
    case 'up': {
      say(`trips local: starting the S3 server, PostgreSQL, an SFTP server and moto (state in ${shown}; moto's Python environment is set up on first use)`);
      const { record, started } = await startStandingStack(stateDir, { raw: settings.TRIPS_RAW_BUCKET, lake: settings.TRIPS_LAKE_BUCKET });
      const sftp = record.sftp as NonNullable<typeof record.sftp>;
      const s3 = record.s3 as NonNullable<typeof record.s3>;
      say(`trips local: ${started ? 'up' : 'already up'}: S3 ${s3.endpoint} (pid ${s3.pid}), PostgreSQL port ${record.pg.port}, SFTP port ${sftp.port}, ${record.moto ? `moto (KMS, Secrets Manager, SNS) ${record.moto.endpoint}` : 'no moto (needs Python 3.10+)'}`);
      if (record.notices) say(`trips local: the local DAG's notices (connection trips_webhook, in the environment below) go to ${relative(process.cwd(), record.notices.file)}`);
      say(`trips local: files dropped into ${relative(process.cwd(), join(sftp.root, 'inbox')) || '.'} are what the ingest_sftp task lands`);
      say('trips local: eval "$(npx trips local env)" gives a shell (or Airflow) the apps\' environment');
      return 0;
    }
    case 'down': {
      const airflow = stopLocalAirflow(stateDir);
      if (airflow) say(`trips local: stopped the local Airflow (${airflow})`);
      const stopped = await stopStack(stateDir);
      say(stopped.length > 0 ? `trips local: stopped ${stopped.join(', ')}` : 'trips local: nothing was running');
      return 0;
    }
    case 'env': {
      const record = readStandingStack(stateDir);
      if (!record) throw new UsageError(`trips local env: the local stack is not up under ${shown}; run \`npx trips local up\` first`);
      const env = stackEnv(record, { home: root });
      process.stdout.write(values.json ? `${JSON.stringify(env)}\n` : Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''));
      return 0;
    }
    case 'land': {
      if (typeof values.input !== 'string' || typeof values.ds !== 'string') throw new UsageError('trips local land: --input PATH and --ds YYYY-MM-DD are required');
      const ds = parseDs(values.ds);
      const record = readStandingStack(stateDir);
      if (!record) throw new UsageError(`trips local land: the local stack is not up under ${shown}; run \`npx trips local up\` first`);
      const files = await inputFiles(values.input);
      const store = stackStore(record);
      const runId = `trips-local-land-${randomUUID().slice(0, 8)}`;
      // Landing replaces the day's batch: not while a run of that day (say, the local DAG's) reads it.
      const lock = new DsLock({ store, bucket: record.buckets.lake, key: lockKey(ds), what: `ds=${ds}`, owner: runId, task: 'trips local land', leaseMs: settings.TRIPS_LOCK_LEASE_SECONDS * 1000 });
      await lock.acquire();
      const keys = await landBatch(store, record.buckets, ds, files, runId).finally(() => lock.release());
      say(`trips local: landed ${keys.length} file(s) as ${describeBatch(record.buckets, ds)}`);
      return 0;
    }
    default:
      throw new UsageError(action === undefined ? 'trips local: say up, down, env or land' : `trips local: unknown action "${action}" (up, down, env, land)`);
  }
});

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** Stops the process groups of the local Airflow recorded under the state folder; what it stopped, or undefined. */
function stopLocalAirflow(stateDir: string): string | undefined {
  const airflow = readLocalAirflow(stateDir);
  if (!airflow) return undefined;
  for (const pid of [airflow.supervisor, ...airflow.pids.map((p) => -p)]) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  return `${airflow.url}, pids ${airflow.pids.join(', ')}`;
}
