import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { ingestStateKey, rawBatch, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import type { RemoteFile } from './remote';

/**
 * What has landed from one SFTP source, kept in the lake bucket (ingestStateKey). A file
 * is identified by remote path, size and modification time: the same path with another size or
 * mtime is a new version and lands again. An entry is written as `uploading` (with its target key)
 * before the transfer and `landed` after the landed copy is verified, so a crash in between is
 * resolved on the next pass by looking at that key.
 */
export interface LandedFile {
  path: string;
  size: number;
  mtime: number;
  key: string;
  status: 'uploading' | 'landed';
  sha256?: string;
  landedAt?: string;
}

export interface IngestState {
  source: string;
  files: Record<string, LandedFile>;
}

/** Identifies a source (user, host, port, folder) without putting it in the key in clear. */
export function sourceId(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

export function stateKey(source: string): string {
  return ingestStateKey(sourceId(source));
}

/** Where earlier versions kept the state: the raw bucket, where its writes would start runs (RAW_EVENTS). Read once, then moved. */
export function legacyStateKey(source: string): string {
  return `_ingest_state/sftp-${sourceId(source)}.json`;
}

export async function loadState(store: ObjectStore, buckets: Buckets, source: string): Promise<IngestState> {
  const state = await store.getJson<IngestState>(buckets.lake, stateKey(source));
  if (state) return state;
  const legacy = await store.getJson<IngestState>(buckets.raw, legacyStateKey(source));
  if (!legacy) return { source, files: {} };
  // Moved, not forgotten: losing it would land every file of the source again.
  await saveState(store, buckets, legacy);
  await store.delete(buckets.raw, legacyStateKey(source));
  return legacy;
}

export async function saveState(store: ObjectStore, buckets: Buckets, state: IngestState): Promise<void> {
  await store.putJson(buckets.lake, stateKey(state.source), state);
}

export function sameVersion(a: { size: number; mtime: number }, b: { size: number; mtime: number }): boolean {
  return a.size === b.size && a.mtime === b.mtime;
}

/**
 * The raw key a file lands under: s3://RAW/trips/ingest_date=D/<path under the listed folder>. A
 * later version of a file already landed gets its mtime in the name (`name~<mtime>.csv`,
 * `name~<mtime>.csv.gz`), so no landed object is ever overwritten: the raw bucket keeps every
 * delivery as it came.
 */
export function landingKey(buckets: Buckets, ds: string, file: RemoteFile, earlier: LandedFile | undefined): string {
  const prefix = rawBatch(buckets, ds).prefix;
  if (!earlier || earlier.status === 'uploading') return `${prefix}${file.relative}`;
  // The whole ending, .csv.gz included, stays at the end, where the raw bucket's notification looks.
  const ext = /(\.csv)?\.gz$/i.exec(file.relative)?.[0] ?? posix.extname(file.relative);
  return `${prefix}${file.relative.slice(0, file.relative.length - ext.length)}~${file.mtime}${ext}`;
}
