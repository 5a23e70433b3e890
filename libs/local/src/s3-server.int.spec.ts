import { Readable } from 'node:stream';
import { startS3Server, type LocalS3 } from './s3-server';

describe('local S3 server with the object store', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['b'] });
  });
  afterAll(() => s3.close());

  it('lists more than one page, streams objects both ways and deletes a prefix', async () => {
    const store = s3.store();
    await Promise.all(Array.from({ length: 1005 }, (_, i) => store.put('b', `p/${String(i).padStart(4, '0')}.txt`, `row ${i}`)));
    await store.put('b', 'other/keep.txt', 'keep');
    const listed = await store.listAll('b', 'p/');
    expect(listed).toHaveLength(1005);
    expect(listed[1004]).toMatchObject({ key: 'p/1004.txt', size: 8 });
    expect(await store.getText('b', 'p/0007.txt')).toBe('row 7');

    expect(await store.deletePrefix('b', 'p/')).toBe(1005);
    expect(await store.listAll('b', 'p/')).toEqual([]);
    expect(await store.getText('b', 'other/keep.txt')).toBe('keep');
  });

  it('uploads a stream larger than one part as a multipart upload', async () => {
    const store = s3.store();
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    const body = Readable.from((function* () { for (let i = 0; i < 20; i++) yield chunk; })());
    await store.put('b', 'big/blob.bin', body);
    expect(await store.head('b', 'big/blob.bin')).toMatchObject({ size: 20 * 1024 * 1024 });
    expect(await store.head('b', 'big/missing.bin')).toBeUndefined();
  });

  it('round-trips JSON manifests and reports a missing one as undefined', async () => {
    const store = s3.store();
    await store.putJson('b', 'manifests/x/ds=2018-05-28/manifest.json', { rows: { read: 3 } });
    expect(await store.getJson('b', 'manifests/x/ds=2018-05-28/manifest.json')).toEqual({ rows: { read: 3 } });
    expect(await store.getJson('b', 'manifests/none.json')).toBeUndefined();
  });

  it('applies conditional writes atomically, as S3 does: create-if-absent and replace-if-unchanged', async () => {
    const store = s3.store();
    const created = await Promise.all(Array.from({ length: 6 }, (_, i) => store.putIf('b', 'cond/lock.json', `{"n":${i}}`, { ifNoneMatch: '*' })));
    expect(created.filter((etag) => etag !== undefined)).toHaveLength(1);
    const current = await store.getVersioned('b', 'cond/lock.json');
    expect(current?.etag).toBe(created.find((e) => e !== undefined));
    expect(await store.putIf('b', 'cond/lock.json', '{"n":"stale"}', { ifMatch: '"0123456789abcdef0123456789abcdef"' })).toBeUndefined();
    const replaced = await store.putIf('b', 'cond/lock.json', '{"n":"next"}', { ifMatch: current!.etag });
    expect(replaced).toBeDefined();
    expect(await store.getText('b', 'cond/lock.json')).toBe('{"n":"next"}');
    expect(await store.putIf('b', 'cond/none.json', '{}', { ifMatch: current!.etag })).toBeUndefined();
  });

  it('lists, reads and copies keys with characters XML and URLs treat specially', async () => {
    const store = s3.store();
    const names = [`it's "q".csv`, 'a&b <c>.csv', 'spaces and+plus.csv', '50% off#1?.csv', '_hidden.csv', '.dot.csv', 'ünïcödé.csv'];
    for (const n of names) await store.put('b', `odd/${n}`, n);
    const listed = (await store.listAll('b', 'odd/')).map((o) => o.key.slice(4));
    expect(listed.sort()).toEqual([...names].sort());
    for (const n of names) {
      expect(await store.getText('b', `odd/${n}`)).toBe(n);
      await store.copy('b', `odd/${n}`, `copied/${n}`);
      expect(await store.getText('b', `copied/${n}`)).toBe(n);
    }
  });
});
