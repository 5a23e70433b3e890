import { constants, createReadStream } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ExternalError, UsageError, s3Url } from '@trips/core';
import { RAW_SUFFIXES, rawBatch, rawContentType, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';

const inputError = (path: string, e: unknown) => new UsageError(`--input ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);

/**
 * The CSV files at `path`: the file itself, or every *.csv and *.csv.gz file in the folder (sorted,
 * not recursive; validate-raw reads a gzip delivery as its text). Each must be a readable regular
 * file; anything else is a usage error naming it.
 */
export async function inputFiles(path: string): Promise<string[]> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`--input ${path}: no such file or folder`);
    throw inputError(path, e);
  }
  let files = [path];
  if (st.isDirectory()) {
    const names = await readdir(path).catch((e) => Promise.reject(inputError(path, e)));
    files = names.filter((n) => RAW_SUFFIXES.some((s) => n.toLowerCase().endsWith(s))).sort().map((n) => join(path, n));
    if (files.length === 0) throw new UsageError(`--input ${path}: the folder holds no ${RAW_SUFFIXES.join(' or ')} files`);
  }
  for (const f of files) {
    const s = await stat(f).catch((e) => Promise.reject(inputError(f, e)));
    if (!s.isFile()) throw new UsageError(`--input ${f}: not a regular file`);
    await access(f, constants.R_OK).catch((e) => Promise.reject(inputError(f, e)));
  }
  return files;
}

/**
 * Lands files as the raw batch of `ds`, replacing what that batch held, atomically as far as its
 * readers can tell: every file is first uploaded under a staging prefix outside the batch
 * (`_landing/<run>/`, which no task reads and no notification watches); only when all have arrived
 * are they copied into the batch (inside S3) and the batch's other objects deleted. An input that
 * fails part-way leaves the old batch untouched. Landing the same input twice leaves one copy.
 * Returns the landed keys.
 */
export async function landBatch(store: ObjectStore, buckets: Buckets, ds: string, files: string[], runId: string): Promise<string[]> {
  const target = rawBatch(buckets, ds);
  const staging = `_landing/${runId}/`;
  const names = files.map((f) => basename(f));
  try {
    for (const [i, file] of files.entries()) {
      const body = createReadStream(file);
      const unreadable = new Promise<never>((_, reject) => body.once('error', (e) => reject(inputError(file, e))));
      await Promise.race([store.put(target.bucket, `${staging}${names[i]}`, body, rawContentType(names[i])), unreadable]);
    }
    const keys = names.map((n) => `${target.prefix}${n}`);
    const stale = (await store.listAll(target.bucket, target.prefix)).map((o) => o.key).filter((k) => !keys.includes(k));
    for (const [i, key] of keys.entries()) await store.copy(target.bucket, `${staging}${names[i]}`, key);
    await store.deleteKeys(target.bucket, stale);
    return keys;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ExternalError) throw e;
    throw new ExternalError(`landing the batch of ds=${ds} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    await store.deletePrefix(target.bucket, staging).catch(() => undefined);
  }
}

export function describeBatch(buckets: Buckets, ds: string): string {
  return s3Url(rawBatch(buckets, ds));
}
