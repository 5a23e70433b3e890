import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UsageError } from '@trips/core';
import { rawBatch, s3Url, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';

/** The CSV files at `path`: the file itself, or every *.csv file in the folder (sorted, not recursive). */
export async function inputFiles(path: string): Promise<string[]> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`--input ${path}: no such file or folder`);
  }
  if (st.isFile()) return [path];
  const names = (await readdir(path)).filter((n) => n.toLowerCase().endsWith('.csv')).sort();
  if (names.length === 0) throw new UsageError(`--input ${path}: the folder holds no .csv files`);
  return names.map((n) => join(path, n));
}

/**
 * Lands files as the raw batch of `ds`, replacing whatever that batch held, so landing the same input
 * twice leaves one copy. Returns the landed keys.
 */
export async function landBatch(store: ObjectStore, buckets: Buckets, ds: string, files: string[]): Promise<string[]> {
  const target = rawBatch(buckets, ds);
  await store.deletePrefix(target.bucket, target.prefix);
  const keys: string[] = [];
  for (const file of files) {
    const key = `${target.prefix}${basename(file)}`;
    await store.upload(file, target.bucket, key, 'text/csv');
    keys.push(key);
  }
  return keys;
}

export function describeBatch(buckets: Buckets, ds: string): string {
  return s3Url(rawBatch(buckets, ds));
}
