import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { localS3Env, startPostgres, startS3Server, type LocalPostgres, type LocalS3 } from '@trips/local';
import { isAlive, localStackEnv, localStackStore, readLocalStack, type LocalStackRecord } from './local-stack';
import { workspaceRoot } from './workspace';

export interface EmbeddedStack {
  s3: LocalS3;
  pg: LocalPostgres;
  buckets: { raw: string; lake: string };
  stateDir: string;
  /** Environment for app processes: the standard AWS settings plus ours. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the embedded local stack with its state under `stateDir` (kept between runs so the
 * warehouse can be queried afterwards): an S3 server on `stateDir/s3` and PostgreSQL on `stateDir/pg`.
 */
export async function startEmbeddedStack(stateDir: string, buckets: { raw: string; lake: string }): Promise<EmbeddedStack> {
  const standing = readLocalStack(stateDir);
  if (standing) return attachTo(standing, stateDir);
  const pgData = join(stateDir, 'pg', 'data');
  const pidFile = join(pgData, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (isAlive(pid)) {
      throw new Error(`the local warehouse under ${pgData} is in use by process ${pid} (another trips run?); wait for it or stop it`);
    }
  }
  const s3 = await startS3Server({ directory: join(stateDir, 's3'), buckets: [buckets.raw, buckets.lake] });
  let pg: LocalPostgres;
  try {
    pg = await startPostgres({ dataDir: pgData });
  } catch (e) {
    await s3.close();
    throw e;
  }
  return {
    s3,
    pg,
    buckets,
    stateDir,
    env: {
      ...s3.env(),
      TRIPS_RAW_BUCKET: buckets.raw,
      TRIPS_LAKE_BUCKET: buckets.lake,
      TRIPS_ENGINE: 'duckdb',
      TRIPS_WAREHOUSE: 'postgres',
      TRIPS_PG_URL: pg.url,
      TRIPS_WORK_DIR: join(stateDir, 'work'),
    },
    async stop() {
      await Promise.allSettled([pg.stop(), s3.close()]);
    },
  };
}

/** The standing stack of `trips local up`, used as it is and left running. */
function attachTo(record: LocalStackRecord, stateDir: string): EmbeddedStack {
  const env = localStackEnv(record, workspaceRoot());
  delete env.TRIPS_HOME;
  for (const k of Object.keys(env)) if (k.startsWith('TRIPS_SFTP_')) delete env[k];
  delete env.AWS_ENDPOINT_URL;
  return {
    s3: { ...record.s3, store: () => localStackStore(record), env: () => localS3Env(record.s3.endpoint), close: async () => undefined },
    pg: { ...record.pg, stop: async () => undefined },
    buckets: record.buckets,
    stateDir,
    env,
    async stop() {
      // Left running for the other users of `trips local up`.
    },
  };
}
