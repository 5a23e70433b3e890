import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectStore, type ObjectStore } from '@trips/storage';
import { startS3Server } from './s3-server';

/** A local object store holding one bucket, and how to stop it and remove what it holds. */
export interface OpenedStore {
  store: ObjectStore;
  close(): Promise<void>;
}

/**
 * The two local object stores, by name, each opened on a fresh temporary bucket: the local S3
 * server through the SDK, and the file store of `trips run --store files`. Tests that must hold of
 * both run on each (`describe.each`).
 */
export function localStores(bucket: string): Array<[string, () => Promise<OpenedStore>]> {
  return [
    [
      'the local S3 server',
      async () => {
        const s3 = await startS3Server({ buckets: [bucket] });
        return { store: s3.store(), close: () => s3.close() };
      },
    ],
    [
      'the file store',
      async () => {
        const root = await mkdtemp(join(tmpdir(), 'trips-files-'));
        const store = new FileObjectStore(root);
        await store.ensureBucket(bucket);
        return { store, close: () => rm(root, { recursive: true, force: true }) };
      },
    ],
  ];
}
