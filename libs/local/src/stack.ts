import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { FileObjectStore, S3ObjectStore, type ObjectStore } from '@trips/storage';
import { startMotoProcess } from './moto';
import { keptRecordFile, postmasterPid, startPostgres, stopPostgres } from './postgres';
import { BusyError, isProcessAlive as isAlive, removeStaleScratch } from '@trips/core';
import { startDetachedProcess, waitForExit } from './process';
import { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION, localS3Env, startS3Server, type LocalS3 } from './s3-server';
import { sftpSettings, startSftpServerProcess } from './sftp-server';

export interface LocalBuckets {
  raw: string;
  lake: string;
}

/**
 * The stand-ins of one state folder, as recorded in `<state>/stack.json`: the S3 server and
 * PostgreSQL always; for the standing stack (`trips local up`) also an SFTP server and moto. The
 * record is what lets a later command find them, reuse them, or recover them when the command that
 * started them was killed.
 */
export interface StackRecord {
  /** `embedded`: started by one `trips` command for its own use; `standing`: `trips local up`. */
  mode: 'embedded' | 'standing';
  /** The `trips` process that started an embedded stack (it stops them when done). */
  ownerPid?: number;
  host: string;
  /** The S3 server; absent when the tasks use the file store instead (`trips run --store files`). */
  s3?: { pid: number; port: number; endpoint: string; directory: string };
  /** The file store's folder (the S3 server's layout, in the same place), when the tasks use it. */
  files?: { directory: string };
  pg: { pid: number; port: number; url: string; dataDir: string };
  /** The partner's SFTP server stand-in: files dropped into `<root>/inbox` are ingest_sftp's input. */
  sftp?: { pid: number; port: number; username: string; password: string; hostKeyFingerprint: string; root: string };
  /** moto's server for KMS, Secrets Manager and SNS (absent without Python 3.10+). */
  moto?: { pid: number; port: number; endpoint: string };
  /** The receiver of the local DAG's notices (the Airflow connection trips_webhook): one JSON line each in `file`. */
  notices?: { pid: number; port: number; file: string };
  buckets: LocalBuckets;
  workDir: string;
  startedAt: string;
}

const recordFile = (stateDir: string) => join(stateDir, 'stack.json');

function readRecord(stateDir: string): StackRecord | undefined {
  const file = recordFile(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackRecord;
  } catch {
    return undefined;
  }
}

/** True when every process of the record runs. */
function allAlive(r: StackRecord): boolean {
  return [r.s3?.pid ?? -1, postmasterPid(r.pg.dataDir), r.sftp?.pid ?? -1, r.moto?.pid ?? -1, r.notices?.pid ?? -1].every((pid) => pid === -1 || isAlive(pid));
}

/** The standing stack of `trips local up` under `stateDir` when it is up and whole. */
export function readStandingStack(stateDir: string): StackRecord | undefined {
  const r = readRecord(stateDir);
  return r?.mode === 'standing' && allAlive(r) ? r : undefined;
}

/** The stand-ins running under `stateDir`, standing or of a command still running, when whole. */
export function readStack(stateDir: string): StackRecord | undefined {
  const r = readRecord(stateDir);
  if (!r || !allAlive(r)) return undefined;
  return r.mode === 'standing' || (r.ownerPid !== undefined && isAlive(r.ownerPid)) ? r : undefined;
}

/**
 * The environment an app process needs to run against the stand-ins: the standard AWS SDK settings
 * pointing at them plus ours. The one place it is built, for `trips run` and for the local DAG.
 */
export function stackEnv(r: StackRecord, extra: { home?: string } = {}): Record<string, string> {
  return {
    ...(r.s3 ? localS3Env(r.s3.endpoint) : { AWS_REGION: LOCAL_AWS_REGION, TRIPS_OBJECT_DIR: (r.files as { directory: string }).directory }),
    ...(r.moto ? { AWS_ENDPOINT_URL: r.moto.endpoint } : {}),
    TRIPS_RAW_BUCKET: r.buckets.raw,
    TRIPS_LAKE_BUCKET: r.buckets.lake,
    TRIPS_ENGINE: 'duckdb',
    TRIPS_WAREHOUSE: 'postgres',
    TRIPS_PG_URL: r.pg.url,
    TRIPS_WORK_DIR: r.workDir,
    // A laptop's files are copied in whole: short waits keep a local run quick.
    ...(r.sftp ? sftpSettings(r.sftp, '/inbox', { minAgeSeconds: 2, stableSeconds: 1 }) : {}),
    // The local DAG's notifiers post here (an Airflow connection given as an environment variable).
    ...(r.notices ? { AIRFLOW_CONN_TRIPS_WEBHOOK: JSON.stringify({ conn_type: 'http', host: `http://127.0.0.1:${r.notices.port}/trips` }) } : {}),
    ...(extra.home ? { TRIPS_HOME: extra.home } : {}),
  };
}

/** An object store on the stack's S3 server, or on its folder when it runs without one. */
export function stackStore(r: StackRecord): ObjectStore {
  if (!r.s3) return new FileObjectStore((r.files as { directory: string }).directory);
  const settings = { region: LOCAL_AWS_REGION, endpoint: r.s3.endpoint };
  return new S3ObjectStore(settings, new S3Client({ ...settings, forcePathStyle: true, credentials: LOCAL_AWS_CREDENTIALS }));
}

export interface RunningStack {
  record: StackRecord;
  /** Environment for app processes (stackEnv). */
  env: Record<string, string>;
  store(): ObjectStore;
  /**
   * Calls `listener` once if a stand-in this command relies on stops while it runs (killed,
   * crashed), naming it; a run must then fail.
   */
  watch(listener: (lost: string) => void): void;
  /** Stops what this command started (an embedded stack); leaves a standing stack running. */
  stop(): Promise<void>;
}

/**
 * How the tasks of an embedded stack reach the buckets: through the local S3 server (`s3`, the
 * default), or as files in the same folder, read and written by the tasks themselves (`files`).
 */
export type LocalStoreKind = 's3' | 'files';

/**
 * The stand-ins for one `trips` command: the standing stack when `trips local up` runs, otherwise an
 * embedded one (S3 server, unless `store` is `files`, and PostgreSQL) started now and stopped by
 * `stop()`. Stand-ins left by a killed command are stopped first; a stack another live command is
 * using is refused, naming it. The standing stack serves the buckets over S3 only: `files` with it
 * up is refused.
 */
export async function openStack(stateDir: string, buckets: LocalBuckets, say: (line: string) => void = () => undefined, store: LocalStoreKind = 's3'): Promise<RunningStack> {
  const standing = readStandingStack(stateDir);
  if (standing && store === 'files') {
    throw new StackBusyError(`--store files: the standing stack (trips local up) serves the buckets under ${stateDir} over S3; stop it (trips local down) or run without --store files`);
  }
  if (standing) return attach(standing);
  const leftover = readRecord(stateDir);
  if (leftover?.mode === 'embedded' && leftover.ownerPid !== undefined && isAlive(leftover.ownerPid) && leftover.host === hostname()) {
    throw new StackBusyError(`the local stack under ${stateDir} is in use by another trips command (pid ${leftover.ownerPid}); wait for it to finish, or stop it`);
  }
  const stopped = await stopStack(stateDir);
  if (stopped.length > 0) say(`trips: stopped stand-ins left running: ${stopped.join(', ')}`);
  const removed = await removeStaleScratch(join(stateDir, 'work'));
  if (removed > 0) say(`trips: removed ${removed} scratch folder(s) of killed tasks under ${join(stateDir, 'work')}`);

  const directory = join(stateDir, 's3');
  let s3: LocalS3 | undefined;
  if (store === 's3') {
    s3 = await startS3Server({ directory, buckets: [buckets.raw, buckets.lake] });
  } else {
    const files = new FileObjectStore(directory);
    for (const b of [buckets.raw, buckets.lake]) await files.ensureBucket(b);
  }
  const pg = await startPostgres({ dataDir: join(stateDir, 'pg', 'data') }).catch(async (e) => {
    await s3?.close();
    throw e;
  });
  const record: StackRecord = {
    mode: 'embedded',
    ownerPid: process.pid,
    host: hostname(),
    ...(s3 ? { s3: { pid: s3.pid, port: s3.port, endpoint: s3.endpoint, directory } } : { files: { directory } }),
    pg: { pid: pg.pid, port: pg.port, url: pg.url, dataDir: pg.dataDir },
    buckets,
    workDir: join(stateDir, 'work'),
    startedAt: new Date().toISOString(),
  };
  await writeRecord(stateDir, record);
  let stopping = false;
  return {
    record,
    env: stackEnv(record),
    store: () => (s3 ? s3.store() : stackStore(record)),
    watch(listener) {
      s3?.onExit((code, signal) => stopping || listener(`the local S3 server (pid ${s3?.pid}) stopped (${signal ?? `exit code ${code}`})`));
      pg.onExit((code, signal) => stopping || listener(`the local PostgreSQL (pid ${pg.pid}) stopped (${signal ?? `exit code ${code}`})`));
    },
    async stop() {
      stopping = true;
      await Promise.allSettled([pg.stop(), s3?.close()]);
      await rm(recordFile(stateDir), { force: true });
    },
  };
}

/** A command's view of the standing stack: used as it is and left running. */
function attach(record: StackRecord): RunningStack {
  const timers: NodeJS.Timeout[] = [];
  return {
    record,
    // The SFTP settings are the local DAG's; a `trips run` task has its own or none.
    env: stackEnv({ ...record, sftp: undefined, moto: undefined, notices: undefined }),
    store: () => stackStore(record),
    watch(listener) {
      // Not our children: poll their process ids.
      const timer = setInterval(() => {
        if (record.s3 && !isAlive(record.s3.pid)) listener(`the local S3 server of \`trips local up\` (pid ${record.s3.pid}) stopped`);
        else if (!isAlive(postmasterPid(record.pg.dataDir))) listener('the local PostgreSQL of `trips local up` stopped');
        else return;
        clearInterval(timer);
      }, 500);
      timer.unref();
      timers.push(timer);
    },
    async stop() {
      timers.forEach(clearInterval);
    },
  };
}

/** A local stack another live command is using (exit 75: try again when it is done). */
export class StackBusyError extends BusyError {}

/** Starts the standing stack unless it is up; returns its record and whether it was started now. */
export async function startStandingStack(stateDir: string, buckets: LocalBuckets): Promise<{ record: StackRecord; started: boolean }> {
  const running = readStandingStack(stateDir);
  if (running) return { record: running, started: false };
  const leftover = readRecord(stateDir);
  if (leftover?.mode === 'embedded' && leftover.ownerPid !== undefined && isAlive(leftover.ownerPid)) {
    throw new StackBusyError(`a trips command (pid ${leftover.ownerPid}) is using the local stack under ${stateDir}; start the standing stack when it has finished`);
  }
  await stopStack(stateDir); // whatever part of a dead stack is left
  const dataDir = join(stateDir, 'pg', 'data');
  const s3 = await startS3Server({ directory: join(stateDir, 's3'), buckets: [buckets.raw, buckets.lake], detached: true });
  const sftpRoot = join(stateDir, 'sftp');
  let pg;
  let sftp;
  let notices;
  try {
    pg = await startPostgres({ dataDir, detached: true });
    await mkdir(join(sftpRoot, 'inbox'), { recursive: true });
    sftp = await startSftpServerProcess(sftpRoot);
    notices = await startNoticeReceiver(join(stateDir, 'notices.jsonl'));
    const moto = await startMotoProcess();
    const record: StackRecord = {
      mode: 'standing',
      host: hostname(),
      s3: { pid: s3.pid, port: s3.port, endpoint: s3.endpoint, directory: s3.directory },
      pg: { pid: pg.pid, port: pg.port, url: pg.url, dataDir },
      sftp: { ...sftp, root: sftpRoot },
      moto,
      notices,
      buckets,
      workDir: join(stateDir, 'work'),
      startedAt: new Date().toISOString(),
    };
    await writeRecord(stateDir, record);
    return { record, started: true };
  } catch (e) {
    process.kill(s3.pid, 'SIGTERM');
    if (pg) stopPostgres(dataDir);
    if (sftp) process.kill(sftp.pid, 'SIGTERM');
    if (notices) process.kill(notices.pid, 'SIGTERM');
    throw e;
  }
}

/**
 * Stops every stand-in recorded under `stateDir` that still runs (the standing stack, or what a
 * killed command left), and PostgreSQL on the state's data folder even without a record. Returns
 * what it stopped, by name.
 */
export async function stopStack(stateDir: string): Promise<string[]> {
  const r = readRecord(stateDir);
  const stopped: string[] = [];
  const dataDir = r?.pg.dataDir ?? join(stateDir, 'pg', 'data');
  const pgPid = postmasterPid(dataDir);
  const kept = existsSync(keptRecordFile(stateDir));
  await rm(keptRecordFile(stateDir), { force: true });
  if (isAlive(pgPid)) {
    stopPostgres(dataDir);
    stopped.push(kept ? `the PostgreSQL kept after a query (pid ${pgPid})` : `PostgreSQL (pid ${pgPid})`);
  }
  const others: Array<[string, number | undefined]> = [
    ['the S3 server', r?.s3?.pid],
    ['the SFTP server', r?.sftp?.pid],
    ['moto', r?.moto?.pid],
    ['the notice receiver', r?.notices?.pid],
  ];
  for (const [name, pid] of others) {
    if (pid === undefined || !isAlive(pid) || r?.host !== hostname()) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid))) process.kill(pid, 'SIGKILL');
    stopped.push(`${name} (pid ${pid})`);
  }
  await rm(recordFile(stateDir), { force: true });
  return stopped;
}

async function writeRecord(stateDir: string, record: StackRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFile(recordFile(stateDir), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}


/** The local Airflow of `npm run local:airflow` on a state folder, as it records itself, when it runs. */
export function readLocalAirflow(stateDir: string): { url: string; pids: number[]; supervisor: number } | undefined {
  const file = join(stateDir, 'airflow', 'airflow.json');
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as { url: string; pids: number[]; supervisor: number };
    return r.pids.some((pid) => isAlive(pid)) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the notice receiver (notice-receiver.cjs) detached, appending to `file`. */
async function startNoticeReceiver(file: string): Promise<{ pid: number; port: number; file: string }> {
  const { pid, ready } = await startDetachedProcess<{ port: number }>('the notice receiver', process.execPath, [join(__dirname, 'notice-receiver.cjs'), file]);
  return { pid, port: ready.port, file };
}
