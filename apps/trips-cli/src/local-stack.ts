import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { ObjectStore } from '@trips/storage';
import { LOCAL_AWS_CREDENTIALS, LOCAL_AWS_REGION, localS3Env, startPostgres, startS3Server, sftpSettings, startMotoProcess, startSftpServerProcess, stopPostgres } from '@trips/local';

/**
 * The standing local stack of `trips local up`: the same S3 server and PostgreSQL as the embedded
 * mode, on the same state folders, but left running in the background so that separate processes
 * (each Airflow task) can use them. Its ports and process ids are recorded in `<state>/local.json`.
 */
export interface LocalStackRecord {
  s3: { pid: number; port: number; endpoint: string; directory: string };
  pg: { port: number; url: string; dataDir: string };
  /** The partner's SFTP server stand-in: files dropped into `<state>/sftp/inbox` are ingest_sftp's input. */
  sftp: { pid: number; port: number; username: string; password: string; hostKeyFingerprint: string; root: string };
  /** moto's server for KMS, Secrets Manager and SNS (absent without Python 3.10+). */
  moto?: { pid: number; port: number; endpoint: string };
  buckets: { raw: string; lake: string };
  workDir: string;
  startedAt: string;
}

const recordFile = (stateDir: string) => join(stateDir, 'local.json');

/** The running standing stack under `stateDir`, or undefined when it is not up (or died). */
export function readLocalStack(stateDir: string): LocalStackRecord | undefined {
  const file = recordFile(stateDir);
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(readFileSync(file, 'utf8')) as LocalStackRecord;
  return isAlive(record.s3.pid) && isAlive(postmasterPid(record.pg.dataDir)) && isAlive(record.sftp?.pid) ? record : undefined;
}

/** Starts the standing stack unless it is already up; returns its record and whether it was started now. */
export async function localUp(stateDir: string, buckets: { raw: string; lake: string }): Promise<{ record: LocalStackRecord; started: boolean }> {
  const running = readLocalStack(stateDir);
  if (running) return { record: running, started: false };
  await localDown(stateDir); // whatever half of a dead stack is left
  const dataDir = join(stateDir, 'pg', 'data');
  const s3 = await startS3Server({ directory: join(stateDir, 's3'), buckets: [buckets.raw, buckets.lake], detached: true });
  let pg;
  let sftp;
  let moto;
  const sftpRoot = join(stateDir, 'sftp');
  try {
    pg = await startPostgres({ dataDir, detached: true });
    await mkdir(join(sftpRoot, 'inbox'), { recursive: true });
    sftp = await startSftpServerProcess(sftpRoot);
    moto = await startMotoProcess();
  } catch (e) {
    process.kill(s3.pid, 'SIGTERM');
    if (pg) stopPostgres(dataDir);
    if (sftp) process.kill(sftp.pid, 'SIGTERM');
    throw e;
  }
  const record: LocalStackRecord = {
    s3: { pid: s3.pid, port: s3.port, endpoint: s3.endpoint, directory: s3.directory },
    pg: { port: pg.port, url: pg.url, dataDir },
    sftp: { ...sftp, root: sftpRoot },
    moto,
    buckets,
    workDir: join(stateDir, 'work'),
    startedAt: new Date().toISOString(),
  };
  await writeFile(recordFile(stateDir), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return { record, started: true };
}

/** Stops the standing stack (PostgreSQL first, then the S3 server); true when something was running. */
export async function localDown(stateDir: string): Promise<boolean> {
  const file = recordFile(stateDir);
  if (!existsSync(file)) return false;
  const record = JSON.parse(readFileSync(file, 'utf8')) as LocalStackRecord;
  let stopped = false;
  if (isAlive(postmasterPid(record.pg.dataDir))) {
    stopPostgres(record.pg.dataDir);
    stopped = true;
  }
  for (const pid of [record.s3.pid, record.sftp?.pid, record.moto?.pid]) {
    if (pid === undefined || !isAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    await waitForExit(pid);
    stopped = true;
  }
  await rm(file, { force: true });
  return stopped;
}

/** The environment an app needs to run against the standing stack (what the local DAG's tasks get). */
export function localStackEnv(record: LocalStackRecord, root: string): Record<string, string> {
  return {
    ...localS3Env(record.s3.endpoint),
    // Every other AWS client (KMS, Secrets Manager, SNS) goes to moto; S3 keeps its own endpoint.
    ...(record.moto ? { AWS_ENDPOINT_URL: record.moto.endpoint } : {}),
    TRIPS_RAW_BUCKET: record.buckets.raw,
    TRIPS_LAKE_BUCKET: record.buckets.lake,
    TRIPS_ENGINE: 'duckdb',
    TRIPS_WAREHOUSE: 'postgres',
    TRIPS_PG_URL: record.pg.url,
    TRIPS_WORK_DIR: record.workDir,
    ...sftpSettings(record.sftp, '/inbox'),
    // A laptop's files are copied in whole: short waits keep a local run quick.
    TRIPS_SFTP_MIN_AGE_SECONDS: '2',
    TRIPS_SFTP_STABLE_SECONDS: '1',
    TRIPS_HOME: root,
  };
}

export function localStackStore(record: LocalStackRecord): ObjectStore {
  const settings = { region: LOCAL_AWS_REGION, endpoint: record.s3.endpoint };
  return new ObjectStore(settings, new S3Client({ ...settings, forcePathStyle: true, credentials: LOCAL_AWS_CREDENTIALS }));
}

function postmasterPid(dataDir: string): number {
  const file = join(dataDir, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : 0;
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined || !(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number): Promise<void> {
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}
