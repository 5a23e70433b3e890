import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { BusyError, UsageError, dateRange, parseDs } from '@trips/core';
import { openStack, sftpSettings, startSftpServer, type LocalSftp } from '@trips/local';
import { PIPELINE, lakeDsProblem, lockKey, warehouseTables } from '@trips/pipeline';
import { DsLock, type ObjectStore } from '@trips/storage';
import { PostgresQueries, WAREHOUSE_SCHEMA } from '@trips/warehouse';
import { defineCommand, type Flags } from './args';
import { inputFiles, landBatch, describeBatch } from './land';
import { TaskOutput } from './progress-view';
import { formatRun, runJson, taskLine } from './report';
import { runPipeline, type RunResult } from './runner';
import { cliSettings } from './settings';
import { summariseWarehouse } from './warehouse-summary';
import { workspaceRoot } from './workspace';

const FLAGS: Flags = {
  ds: { type: 'string', value: 'YYYY-MM-DD', description: 'logical date YYYY-MM-DD of the run' },
  from: { type: 'string', value: 'YYYY-MM-DD', description: 'first ds of a range (with --to)' },
  to: { type: 'string', value: 'YYYY-MM-DD', description: 'last ds of a range (with --from)' },
  input: { type: 'string', value: 'PATH', description: 'CSV file or folder of CSV files to land as the raw batch first (with a range: each file whose name contains the ds)' },
  'from-sftp': { type: 'boolean', description: 'serve the --input files (default: the committed sample) from a local SFTP server and start with the ingest_sftp task, as in production' },
  json: { type: 'boolean', description: 'print the run as JSON on stdout' },
  'max-reject-ratio': { type: 'string', value: 'RATIO', description: 'override the validation gate threshold (0..1) for this run' },
  store: { type: 'string', value: 's3|files', description: 'how the tasks reach the buckets: through the local S3 server (default), or as files in its folder, read and written by the tasks themselves (faster; docs/local-stack.md)' },
  bundled: { type: 'boolean', description: 'run the apps\' esbuild bundles (dist/apps/*/main.js) instead of their sources' },
  verbose: { type: 'boolean', description: 'stream the apps\' logs to stderr' },
};

const COMMAND = {
  name: 'trips run',
  description: 'Runs the pipeline on the embedded local stack (S3 server, DuckDB, PostgreSQL; state under .state/),\neach task as its own process, in the order of the pipeline definition.\nGive --ds YYYY-MM-DD, or --from and --to for a range of days.',
  options: FLAGS,
};

export const runCommand = defineCommand(COMMAND, async ({ values }) => {
  const days = resolveDays(values);
  const ratio = values['max-reject-ratio'] as string | undefined;
  if (ratio !== undefined && !(Number(ratio) >= 0 && Number(ratio) <= 1)) throw new UsageError(`--max-reject-ratio must be a number in [0, 1], got "${ratio}"`);
  const storeKind = (values.store ?? 's3') as string;
  if (storeKind !== 's3' && storeKind !== 'files') throw new UsageError(`--store must be s3 or files, got "${storeKind}"`);
  const fromSftp = values['from-sftp'] === true;
  if (fromSftp && days.length !== 1) throw new UsageError('trips run --from-sftp takes one --ds, not a range');
  const files = typeof values.input === 'string' ? await inputFiles(values.input) : fromSftp ? [join(workspaceRoot(), SAMPLE)] : undefined;

  // Every day's input is known before anything starts: a range must not stop half-way on a missing file.
  const perDay = new Map<string, string[]>();
  if (files && !fromSftp) {
    for (const ds of days) {
      const todays = days.length === 1 ? files : files.filter((f) => basename(f).includes(ds));
      if (todays.length === 0) throw new UsageError(`--input: no file name contains ${ds} (with --from/--to, each day's files must have the day in their names)`);
      perDay.set(ds, todays);
    }
  }

  const root = workspaceRoot();
  const settings = cliSettings(root);
  const buckets = { raw: settings.TRIPS_RAW_BUCKET, lake: settings.TRIPS_LAKE_BUCKET };
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const output = new TaskOutput(process.stderr, { verbose: values.verbose === true, tty: process.stderr.isTTY === true });
  const runId = `trips-run-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  say(`trips: starting the local stack (state in ${relative(process.cwd(), settings.TRIPS_STATE_DIR) || '.'}); run ${runId}`);
  const stack = await openStack(settings.TRIPS_STATE_DIR, buckets, say, storeKind);
  const lost = new AbortController();
  stack.watch((why) => {
    say(`trips: ${why}`);
    lost.abort(new Error(why));
  });
  const runs: RunResult[] = [];
  let sftp: Awaited<ReturnType<typeof serveOverSftp>> | undefined;
  try {
    sftp = fromSftp && files ? await serveOverSftp(files, join(settings.TRIPS_STATE_DIR, 'sftp-run')) : undefined;
    const store = stack.store();
    if (sftp) say(`trips: serving ${files?.length} file(s) over SFTP at ${sftp.host}:${sftp.port} (host key ${sftp.hostKeyFingerprint}); ingest_sftp lands them`);
    for (const ds of days) {
      const run = await runDay({ ds, runId, store, buckets, leaseMs: settings.TRIPS_LOCK_LEASE_SECONDS * 1000, say }, async () => {
        const todays = perDay.get(ds);
        // The first task's process starts while the batch lands, and begins once it has.
        const landing = (async () => {
          if (!todays) return;
          const keys = await landBatch(store, buckets, ds, todays, runId);
          say(`trips: landed ${keys.length} file(s) as ${describeBatch(buckets, ds)}`);
        })();
        landing.then(() => say(`trips: running ds=${ds}`), () => undefined);
        return runPipeline({
          after: landing,
          root,
          ds,
          runId,
          env: sftp ? { ...stack.env, ...sftp.env } : stack.env,
          // Files given with --input are landed here, in place of the ingestion task.
          omit: sftp ? [] : [PIPELINE.ingestTask],
          store,
          buckets,
          bundled: values.bundled === true,
          verbose: values.verbose === true,
          output,
          extraArgs: ratio !== undefined ? { 'validate-raw': ['--max-reject-ratio', ratio] } : undefined,
          signal: lost.signal,
          onTaskEnd: (r) => {
            output.clear();
            say(taskLine(r));
          },
        });
      });
      runs.push(run);
      if (!values.json) say(`\n${formatRun(run)}\n`);
      if (run.status !== 'succeeded' || lost.signal.aborted) break;
    }
    if (!values.json && !lost.signal.aborted) {
      say('Outputs:');
      const lake = stack.record.s3 ? `${stack.record.s3.directory} (S3 server data` : `${stack.record.files?.directory} (the file store, in the S3 server's layout`;
      say(`  raw and lake buckets  ${lake}; s3://${buckets.raw}/, s3://${buckets.lake}/)`);
      say(`  task manifests        s3://${buckets.lake}/manifests/<task>/ds=<ds>/manifest.json`);
      say(`  warehouse             PostgreSQL cluster in ${stack.record.pg.dataDir}, schema ${WAREHOUSE_SCHEMA}`);
      const wh = new PostgresQueries(stack.record.pg.url);
      say(await summariseWarehouse(wh).finally(() => wh.close()));
      say(`  query it with: npx trips sql "select * from ${WAREHOUSE_SCHEMA}.${warehouseTables()[0].id}" [--json]`);
      say('  look at it:    npx trips report (an HTML page), npx trips rejects --ds D, npx trips status');
    }
  } finally {
    await sftp?.close();
    await stack.stop();
  }
  if (values.json) process.stdout.write(`${JSON.stringify(runs.length === 1 && days.length === 1 ? runJson(runs[0]) : runs.map(runJson), null, 2)}\n`);
  if (runs.some((r) => r.status === 'refused')) return 75;
  return runs.every((r) => r.status === 'succeeded') && runs.length === days.length && !lost.signal.aborted ? 0 : 1;
});

/**
 * One day of a run, holding the day's lock for the whole of it (landing and every task): a second
 * `trips run`, or an Airflow run, of the same day is refused until this one is done. A day whose
 * lock another run holds is reported as refused, with who holds it.
 */
async function runDay(
  o: { ds: string; runId: string; store: ObjectStore; buckets: { lake: string }; leaseMs: number; say: (line: string) => void },
  work: () => Promise<RunResult>,
): Promise<RunResult> {
  const lock = new DsLock({ store: o.store, bucket: o.buckets.lake, key: lockKey(o.ds), what: `ds=${o.ds}`, owner: o.runId, task: 'trips run', leaseMs: o.leaseMs });
  try {
    await lock.acquire();
  } catch (e) {
    if (!(e instanceof BusyError)) throw e;
    o.say(`trips: ${e.message}`);
    return { ds: o.ds, runId: o.runId, status: 'refused', error: e.message, tasks: [] };
  }
  try {
    return await work();
  } finally {
    await lock.release().catch((e) => o.say(`trips: could not release the lock of ds=${o.ds}: ${(e as Error).message}`));
  }
}

/** The committed sample, served by `--from-sftp` when no --input is given. */
const SAMPLE = 'libs/testing/fixtures/sample/trips-sample.csv';

/** An SFTP server on 127.0.0.1 serving copies of `files` under /inbox, and the settings ingest-sftp needs for it. */
async function serveOverSftp(files: string[], dir: string): Promise<LocalSftp & { env: Record<string, string> }> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'inbox'), { recursive: true });
  for (const f of files) await copyFile(f, join(dir, 'inbox', basename(f)));
  const server = await startSftpServer({ root: dir });
  return {
    ...server,
    // The copies were just written: no age or stability wait for them.
    env: sftpSettings(server, '/inbox', { minAgeSeconds: 0, stableSeconds: 0 }),
  };
}

function resolveDays(values: Record<string, unknown>): string[] {
  const { ds, from, to } = values as Record<string, string | undefined>;
  let days: string[];
  if (ds !== undefined) {
    if (from !== undefined || to !== undefined) throw new UsageError('trips run: give either --ds or --from/--to, not both');
    days = [parseDs(ds)];
  } else {
    if (from === undefined || to === undefined) throw new UsageError('trips run: --ds YYYY-MM-DD (or --from and --to) is required');
    days = dateRange(from, to);
  }
  // The same bound the tasks apply, said before anything starts.
  const problem = days.map((d) => lakeDsProblem(d)).find(Boolean);
  if (problem) throw new UsageError(`trips run: ${problem}`);
  return days;
}
