import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type TaskManifest } from '@trips/core';
import { readStack, stackStore, startS3Server, type LocalBuckets } from '@trips/local';
import type { ObjectStore } from '@trips/storage';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

export interface LocalLake {
  store: ObjectStore;
  buckets: LocalBuckets;
  /** Where the S3 server keeps the objects (s3://… names below this folder). */
  stateDir: string;
}

/**
 * The local lake for an inspection, whether or not a stand-in runs: the S3 server of the standing
 * stack or of a `trips run` in progress when one is up, otherwise one started on the state folder for
 * this command only. So every `s3://…` a run printed stays reachable after the run.
 */
export async function withLocalLake<T>(use: (lake: LocalLake) => Promise<T>): Promise<T> {
  const settings = cliSettings(workspaceRoot());
  const stateDir = settings.TRIPS_STATE_DIR;
  const running = readStack(stateDir);
  if (running) return use({ store: stackStore(running), buckets: running.buckets, stateDir });
  const directory = join(stateDir, 's3');
  if (!existsSync(directory)) throw new UsageError(`no local lake under ${directory}: run the pipeline first (npm start, or npx trips run …)`);
  const s3 = await startS3Server({ directory });
  try {
    return await use({ store: s3.store(), buckets: { raw: settings.TRIPS_RAW_BUCKET, lake: settings.TRIPS_LAKE_BUCKET }, stateDir });
  } finally {
    await s3.close();
  }
}

const MANIFEST = /^manifests\/([^/]+)\/ds=(\d{4}-\d\d-\d\d)\/manifest\.json$/;

/** Every task manifest in the lake (of one day when `ds` is given), by ds then in the order they ran. */
export async function readManifests(lake: LocalLake, ds?: string): Promise<TaskManifest[]> {
  const keys = (await lake.store.listAll(lake.buckets.lake, 'manifests/')).map((o) => o.key).filter((k) => {
    const m = MANIFEST.exec(k);
    return m !== null && (ds === undefined || m[2] === ds);
  });
  const manifests: TaskManifest[] = [];
  for (const key of keys) {
    const m = await lake.store.getJson<TaskManifest>(lake.buckets.lake, key);
    if (m) manifests.push(m);
  }
  return manifests.sort((a, b) => a.ds.localeCompare(b.ds) || a.startedAt.localeCompare(b.startedAt));
}

/** `s3://bucket/key` as bucket and key. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new UsageError(`expected s3://BUCKET/KEY, got "${url}"`);
  return { bucket: m[1], key: m[2] };
}
