import { basename } from 'node:path';
import { DataError, s3Url as s3, type Location } from '@trips/core';
import type { ObjectInfo, ObjectStore } from './object-store';

/**
 * The data objects of a partition, as every reader takes them: each object directly under the
 * location, whatever its name ends with (Athena's UNLOAD writes names without an extension), folder
 * markers aside. Athena, like Hive, skips names starting with _ or . as hidden; reading one would
 * make the engines disagree and skipping it would drop data silently, so one is refused, as is an
 * object in a subfolder (the pipeline writes neither).
 */
export function dataObjects<T extends Pick<ObjectInfo, 'key' | 'size'>>(location: Location, objects: readonly T[], what: string): T[] {
  const out: T[] = [];
  for (const o of objects) {
    if (o.key.endsWith('/') && o.size === 0) continue;
    const rest = o.key.slice(location.prefix.length);
    if (rest.includes('/')) throw new DataError(`${what}: s3://${location.bucket}/${o.key} is in a subfolder of ${s3(location)}; a partition's data objects lie directly under it: move or remove it`);
    if (/^[_.]/.test(basename(o.key))) {
      throw new DataError(`${what}: s3://${location.bucket}/${o.key} has a name Athena skips as hidden (it starts with _ or .); the pipeline writes no such names: remove or rename it`);
    }
    out.push(o);
  }
  return out;
}

/** Lists a partition's data objects (dataObjects), in key order. */
export async function listDataObjects(store: ObjectStore, location: Location, what: string): Promise<ObjectInfo[]> {
  return dataObjects(location, await store.listAll(location.bucket, location.prefix), what);
}

/**
 * Completes the replacement of a partition: `keep` are the objects just written under `target`,
 * under names no earlier write used, so until now readers saw the old objects whole; the old ones
 * are deleted last. Returns how many were deleted.
 */
export async function keepOnly(store: ObjectStore, target: Location, keep: readonly string[]): Promise<number> {
  const wanted = new Set(keep);
  const stale = (await store.listAll(target.bucket, target.prefix)).map((o) => o.key).filter((k) => !wanted.has(k));
  return store.deleteKeys(target.bucket, stale, `the previous objects under ${s3(target)}`);
}
