import type { S3Client } from '@aws-sdk/client-s3';
import { ExternalError } from '@trips/core';
import { S3ObjectStore } from './object-store';

/** A stand-in for the client's `send` that answers ListObjectsV2 from a list of keys, 2 per page. */
function pagingClient(keys: string[], sent: Array<Record<string, unknown>>): S3Client {
  return {
    send: async (command: { input: Record<string, unknown>; constructor: { name: string } }) => {
      sent.push({ command: command.constructor.name, ...command.input });
      if (command.constructor.name === 'ListObjectsV2Command') {
        const start = Number(command.input.ContinuationToken ?? 0);
        const page = keys.filter((k) => k.startsWith(String(command.input.Prefix))).slice(start, start + 2);
        const next = start + 2 < keys.length ? String(start + 2) : undefined;
        return { Contents: page.map((Key) => ({ Key, Size: Key.length })), IsTruncated: next !== undefined, NextContinuationToken: next };
      }
      if (command.constructor.name === 'DeleteObjectsCommand') return { Errors: [] };
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    },
  } as unknown as S3Client;
}

describe('ObjectStore paging and errors (unit; the S3-server integration test is in libs/testing)', () => {
  it('follows continuation tokens until the listing ends', async () => {
    const sent: Array<Record<string, unknown>> = [];
    const store = new S3ObjectStore({ region: 'r' }, pagingClient(['p/a', 'p/b', 'p/c', 'p/d', 'p/e'], sent));
    expect((await store.listAll('b', 'p/')).map((o) => o.key)).toEqual(['p/a', 'p/b', 'p/c', 'p/d', 'p/e']);
    expect(sent.map((s) => s.ContinuationToken)).toEqual([undefined, '2', '4']);
  });

  it('refuses to delete a prefix that is not a folder', async () => {
    const store = new S3ObjectStore({ region: 'r' }, pagingClient([], []));
    await expect(store.deletePrefix('b', 'model/fact_trips')).rejects.toThrow("does not end in '/'");
  });

  it('names the operation and the S3 error when a call fails', async () => {
    const store = new S3ObjectStore({ region: 'r' }, pagingClient([], []));
    const failure = store.getStream('b', 'k.csv');
    await expect(failure).rejects.toThrow(ExternalError);
    await expect(store.getStream('b', 'k.csv')).rejects.toThrow('get s3://b/k.csv failed: AccessDenied: Access Denied');
  });
});
