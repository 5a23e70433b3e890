import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '@trips/core';
import { startS3Server, type LocalS3 } from '@trips/local';
import type { ObjectStore } from '@trips/storage';
import { inputFiles, landBatch } from './land';

const buckets = { raw: 'raw', lake: 'lake' };
const DS = '2018-05-28';
const batch = `trips/ingest_date=${DS}/`;

describe('landing a batch', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let dir: string;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    dir = await mkdtemp(join(tmpdir(), 'land-'));
  });
  afterAll(async () => {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });
  const keys = async (prefix: string) => (await store.listAll('raw', prefix)).map((o) => o.key).sort();

  it('replaces the batch with exactly the new files, and leaves nothing staged', async () => {
    await writeFile(join(dir, 'old.csv'), 'old');
    await landBatch(store, buckets, DS, [join(dir, 'old.csv')], 'run-1');
    await writeFile(join(dir, 'a.csv'), 'a');
    await writeFile(join(dir, 'b.csv'), 'b');
    expect(await landBatch(store, buckets, DS, await inputFiles(dir).then((f) => f.filter((p) => !p.endsWith('old.csv'))), 'run-2')).toEqual([`${batch}a.csv`, `${batch}b.csv`]);
    expect(await keys(batch)).toEqual([`${batch}a.csv`, `${batch}b.csv`]);
    expect(await keys('_landing/')).toEqual([]);
  });

  it('leaves the previous batch whole when an input fails part-way, and reports it as a usage error naming the file', async () => {
    const before = await keys(batch);
    await writeFile(join(dir, 'c.csv'), 'c');
    const files = [join(dir, 'c.csv'), join(dir, 'vanished.csv')];
    await writeFile(files[1], 'here when checked');
    await inputFiles(files[1]);
    await rm(files[1]); // gone between the check and the upload
    const failure = landBatch(store, buckets, DS, files, 'run-3');
    await expect(failure).rejects.toThrow(UsageError);
    await expect(landBatch(store, buckets, DS, files, 'run-4')).rejects.toThrow(/--input .*vanished\.csv: cannot read it \(ENOENT\)/);
    expect(await keys(batch)).toEqual(before);
    expect(await store.getText('raw', `${batch}a.csv`)).toBe('a');
    expect(await keys('_landing/')).toEqual([]);
  });
});
