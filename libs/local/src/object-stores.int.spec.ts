import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FileObjectStore, type ObjectStore } from '@trips/storage';
import { localStores, type OpenedStore } from './local-stores';
import { startS3Server } from './s3-server';

/**
 * What the pipeline relies on of S3, asked of both local object stores: the local S3 server through
 * the SDK, and the file store `trips run --store files` uses. The file store must be no kinder
 * than the server it stands in for.
 */
describe.each(localStores('bucket'))('%s', (_name, open) => {
  let subject: OpenedStore;
  let store: ObjectStore;
  beforeAll(async () => {
    subject = await open();
    store = subject.store;
  });
  afterAll(() => subject.close());

  it('lists more than one page, streams objects both ways and deletes a prefix', async () => {
    await Promise.all(Array.from({ length: 1005 }, (_, i) => store.put('bucket', `p/${String(i).padStart(4, '0')}.txt`, `row ${i}`)));
    await store.put('bucket', 'other/keep.txt', 'keep');
    const listed = await store.listAll('bucket', 'p/');
    expect(listed).toHaveLength(1005);
    expect(listed[1004]).toMatchObject({ key: 'p/1004.txt', size: 8 });
    expect(await store.getText('bucket', 'p/0007.txt')).toBe('row 7');

    expect(await store.deletePrefix('bucket', 'p/')).toBe(1005);
    expect(await store.listAll('bucket', 'p/')).toEqual([]);
    expect(await store.getText('bucket', 'other/keep.txt')).toBe('keep');
  });

  it('lists by any prefix, part of a folder name too, and nothing outside it', async () => {
    for (const k of ['model/t/ds=2018-06-14/a.parquet', 'model/t/ds=2018-06-15/a.parquet', 'model/t/ds=2018-06-15/b.parquet', 'model/t2/ds=2018-06-15/a.parquet', 'model/tx.json']) {
      await store.put('bucket', k, k);
    }
    const keys = async (prefix: string) => (await store.listAll('bucket', prefix)).map((o) => o.key);
    expect(await keys('model/t/ds=2018-06-15/')).toEqual(['model/t/ds=2018-06-15/a.parquet', 'model/t/ds=2018-06-15/b.parquet']);
    expect(await keys('model/t/ds=2018-06-1')).toHaveLength(3);
    expect(await keys('model/t')).toHaveLength(5);
    expect(await keys('model/t2')).toEqual(['model/t2/ds=2018-06-15/a.parquet']);
    expect(await keys('model/none/')).toEqual([]);
    expect(await store.deletePrefix('bucket', 'model/')).toBe(5);
  });

  it('uploads a stream larger than one part, with its ETag, size and metadata', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const body = Readable.from((function* () { for (let i = 0; i < 20; i++) yield chunk; })());
    await store.put('bucket', 'big/blob.bin', body, 'application/octet-stream', { 'source-path': '/in/a.csv', 'Source-Size': '20' });
    const head = await store.head('bucket', 'big/blob.bin');
    expect(head).toMatchObject({ size: 20 * 1024 * 1024, metadata: { 'source-path': '/in/a.csv', 'source-size': '20' } });
    expect(head?.etag).toMatch(/^"[0-9a-f]{32}(-\d+)?"$/);
    expect(await store.head('bucket', 'big/missing.bin')).toBeUndefined();
    expect((await store.getRange('bucket', 'big/blob.bin', 20 * 1024 * 1024 - 3, 20 * 1024 * 1024 - 1)).toString()).toBe('xxx');
  });

  it('round-trips JSON manifests and reports a missing one as undefined', async () => {
    await store.putJson('bucket', 'manifests/x/ds=2018-05-28/manifest.json', { rows: { read: 3 } });
    expect(await store.getJson('bucket', 'manifests/x/ds=2018-05-28/manifest.json')).toEqual({ rows: { read: 3 } });
    expect(await store.getJson('bucket', 'manifests/none.json')).toBeUndefined();
  });

  it('applies conditional writes atomically, as S3 does: create-if-absent and replace-if-unchanged', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, (_, i) => store.putIf('bucket', 'cond/lock.json', `{"n":${i}}`, { ifNoneMatch: '*' })));
    expect(created.filter((etag) => etag !== undefined)).toHaveLength(1);
    const current = await store.getVersioned('bucket', 'cond/lock.json');
    expect(current?.etag).toBe(created.find((e) => e !== undefined));
    expect(await store.putIf('bucket', 'cond/lock.json', '{"n":"stale"}', { ifMatch: '"0123456789abcdef0123456789abcdef"' })).toBeUndefined();
    const replaced = await store.putIf('bucket', 'cond/lock.json', '{"n":"next"}', { ifMatch: current!.etag });
    expect(replaced).toBeDefined();
    expect(await store.getText('bucket', 'cond/lock.json')).toBe('{"n":"next"}');
    expect(await store.putIf('bucket', 'cond/none.json', '{}', { ifMatch: current!.etag })).toBeUndefined();
    // Racing replacements of one version: one wins.
    const now = await store.getVersioned('bucket', 'cond/lock.json');
    const raced = await Promise.all(Array.from({ length: 5 }, (_, i) => store.putIf('bucket', 'cond/lock.json', `{"r":${i}}`, { ifMatch: now!.etag })));
    expect(raced.filter((etag) => etag !== undefined)).toHaveLength(1);
  });

  it('lists, reads and copies keys with characters XML and URLs treat specially', async () => {
    const names = [`it's "q".csv`, 'a&b <c>.csv', 'spaces and+plus.csv', '50% off#1?.csv', '_hidden.csv', '.dot.csv', 'ünïcödé.csv'];
    for (const n of names) await store.put('bucket', `odd/${n}`, n);
    const listed = (await store.listAll('bucket', 'odd/')).map((o) => o.key.slice(4));
    expect(listed.sort()).toEqual([...names].sort());
    for (const n of names) {
      expect(await store.getText('bucket', `odd/${n}`)).toBe(n);
      await store.copy('bucket', `odd/${n}`, `copied/${n}`);
      expect(await store.getText('bucket', `copied/${n}`)).toBe(n);
    }
  });

  it('copies metadata with an object, and fails naming the key for what is not there', async () => {
    await store.put('bucket', 'meta/a.csv', 'a,b\n', 'text/csv', { 'source-path': '/in/a.csv' });
    await store.copy('bucket', 'meta/a.csv', 'meta/b.csv');
    expect((await store.head('bucket', 'meta/b.csv'))?.metadata).toEqual({ 'source-path': '/in/a.csv' });
    expect((await store.head('bucket', 'meta/b.csv'))?.etag).toBe((await store.head('bucket', 'meta/a.csv'))?.etag);
    await expect(store.getStream('bucket', 'meta/none.csv')).rejects.toThrow(/get s3:\/\/bucket\/meta\/none\.csv failed: NoSuchKey/);
    await expect(store.download('bucket', 'meta/none.csv', join(tmpdir(), 'trips-none.csv'))).rejects.toThrow(/NoSuchKey/);
    await expect(store.copy('bucket', 'meta/none.csv', 'meta/c.csv')).rejects.toThrow(/copy s3:\/\/bucket\/meta\/none\.csv to meta\/c\.csv failed: NoSuchKey/);
    await expect(store.getText('no-such-bucket', 'a.csv')).rejects.toThrow(/NoSuchBucket/);
    await expect(store.put('no-such-bucket', 'a.csv', 'a')).rejects.toThrow(/NoSuchBucket/);
    expect(await store.head('bucket', 'meta/none.csv')).toBeUndefined();
  });

  it('refuses a key longer than S3 takes', async () => {
    await expect(store.put('bucket', `long/${`${'k'.repeat(200)}/`.repeat(6)}x.csv`, 'x')).rejects.toThrow(/KeyTooLong/);
    await store.put('bucket', `long/${`${'k'.repeat(200)}/`.repeat(4)}x.csv`, 'x');
  });
});

describe('the file store', () => {
  let root: string;
  let store: FileObjectStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trips-files-'));
    store = new FileObjectStore(root);
    await store.ensureBucket('bucket');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps its objects as the local S3 server does: either reads what the other wrote, ETag and metadata too', async () => {
    await store.put('bucket', 'raw/ds=2018-06-15/a.csv', 'id,x\n1,2\n', 'text/csv', { 'source-path': '/in/a.csv' });
    const s3 = await startS3Server({ directory: root, buckets: ['bucket'] });
    try {
      const served = s3.store();
      expect(await served.getText('bucket', 'raw/ds=2018-06-15/a.csv')).toBe('id,x\n1,2\n');
      const [fromServer, fromFiles] = [await served.head('bucket', 'raw/ds=2018-06-15/a.csv'), await store.head('bucket', 'raw/ds=2018-06-15/a.csv')];
      expect(fromServer).toMatchObject({ size: 9, etag: fromFiles?.etag, metadata: { 'source-path': '/in/a.csv' } });
      await served.put('bucket', 'lake/b.json', '{"b":1}', 'application/json', { owner: 'run-1' });
      expect(await store.getText('bucket', 'lake/b.json')).toBe('{"b":1}');
      expect(await store.head('bucket', 'lake/b.json')).toMatchObject({ etag: (await served.head('bucket', 'lake/b.json'))?.etag, metadata: { owner: 'run-1' } });
      expect((await served.listAll('bucket', '')).map((o) => o.key)).toEqual((await store.listAll('bucket', '')).map((o) => o.key));
    } finally {
      await s3.close();
    }
  });

  it('refuses a bucket name S3 refuses, and a key a folder cannot hold, naming the key', async () => {
    await expect(store.ensureBucket('b')).rejects.toThrow(/InvalidBucketName: a bucket name has 3 to 63 characters/);
    await expect(store.ensureBucket('Trips_Raw')).rejects.toThrow(/InvalidBucketName/);
    for (const key of ['a//b.csv', 'a/./b.csv', '../outside.csv', 'folder/']) {
      await expect(store.put('bucket', key, 'x')).rejects.toThrow(`put s3://bucket/${key} failed: the file store cannot hold a key with an empty, "." or ".." part`);
    }
    expect(await readdir(root)).toEqual(['bucket']);
  });

  it('replaces an object whole: a reader keeps the version it opened, and no half-written file is listed', async () => {
    await store.put('bucket', 'v/a.txt', 'first version');
    const reading = await store.getStream('bucket', 'v/a.txt');
    const slow = new Readable({ read: () => undefined });
    const writing = store.put('bucket', 'v/a.txt', slow);
    slow.push('second ');
    await new Promise((r) => setTimeout(r, 50));
    expect(await store.getText('bucket', 'v/a.txt')).toBe('first version');
    expect((await store.listAll('bucket', 'v/')).map((o) => o.key)).toEqual(['v/a.txt']);
    slow.push('version');
    slow.push(null);
    await writing;
    let old = '';
    for await (const c of reading) old += String(c);
    expect(old).toBe('first version');
    expect(await store.getText('bucket', 'v/a.txt')).toBe('second version');
  });

  it('keeps the old version, and leaves no temporary file, when a write fails part-way; the error names the write', async () => {
    await store.put('bucket', 'w/a.csv', 'old');
    const broken = new Readable({ read: () => undefined });
    const writing = store.put('bucket', 'w/a.csv', broken);
    broken.push('new bytes');
    await new Promise((r) => setTimeout(r, 50));
    broken.destroy(new Error('connection reset by the partner'));
    await expect(writing).rejects.toThrow('put s3://bucket/w/a.csv failed: connection reset by the partner');
    expect(await store.getText('bucket', 'w/a.csv')).toBe('old');
    expect((await readdir(join(root, 'bucket', 'w'))).sort()).toEqual(['a.csv._S3rver_metadata.json', 'a.csv._S3rver_object', 'a.csv._S3rver_object.md5']);
  });

  it('copies an object as a version of its own: the source written again or deleted leaves the copy, and a failed copy leaves nothing', async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 'y');
    await store.put('bucket', 'c/src.csv', bytes, 'text/csv', { 'source-path': '/in/src.csv' });
    const source = await store.head('bucket', 'c/src.csv');
    await store.copy('bucket', 'c/src.csv', 'c/sub/copy.csv');
    expect(await store.head('bucket', 'c/sub/copy.csv')).toMatchObject({ size: bytes.length, etag: source?.etag, metadata: { 'source-path': '/in/src.csv' } });
    await store.put('bucket', 'c/src.csv', 'written again');
    expect(await store.getText('bucket', 'c/sub/copy.csv')).toBe(bytes.toString());
    await store.delete('bucket', 'c/src.csv');
    expect(await store.getText('bucket', 'c/sub/copy.csv')).toBe(bytes.toString());
    expect((await readdir(join(root, 'bucket', 'c', 'sub'))).sort()).toEqual(['copy.csv._S3rver_metadata.json', 'copy.csv._S3rver_object', 'copy.csv._S3rver_object.md5']);
    await expect(store.copy('bucket', 'c/src.csv', 'gone/copy.csv')).rejects.toThrow(/copy s3:\/\/bucket\/c\/src\.csv to gone\/copy\.csv failed: NoSuchKey/);
    expect(existsSync(join(root, 'bucket', 'gone'))).toBe(false);
  });

  it('leaves no folder behind a deleted object', async () => {
    await store.put('bucket', 'deep/er/still/a.txt', 'a');
    await store.put('bucket', 'deep/b.txt', 'b');
    await store.delete('bucket', 'deep/er/still/a.txt');
    expect(existsSync(join(root, 'bucket', 'deep', 'er'))).toBe(false);
    expect(existsSync(join(root, 'bucket', 'deep'))).toBe(true);
    await store.head('bucket', 'nothing/here.txt');
    expect(existsSync(join(root, 'bucket', 'nothing'))).toBe(false);
  });

  it('waits for a write another process holds the key for, and breaks a lock a killed process left', async () => {
    await store.put('bucket', 'locks/ds.json', '{}');
    const lock = join(root, 'bucket', 'locks', 'ds.json.lock');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(lock, String(holder.pid));
      let done = false;
      const waiting = store.putIf('bucket', 'locks/ds.json', '{"owner":"b"}', { ifNoneMatch: '*' }).then((r) => ((done = true), r));
      await new Promise((r) => setTimeout(r, 300));
      expect(done).toBe(false);
      await rm(lock);
      expect(await waiting).toBeUndefined();
    } finally {
      holder.kill();
    }
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(lock, dead.stdout);
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const current = await store.getVersioned('bucket', 'locks/ds.json');
    expect(await store.putIf('bucket', 'locks/ds.json', '{"owner":"c"}', { ifMatch: current!.etag })).toBeDefined();
    expect(existsSync(lock)).toBe(false);
  });
});
