import { awsToolsPython, startS3Server, type LocalS3 } from '@trips/local';
import type { ObjectStore } from '@trips/storage';
import { AthenaFake } from './athena-fake';

// The fake is only worth its tests if it is as strict as Athena where the adapters rely on it.
describe('the Athena fake', () => {
  const python = awsToolsPython();
  let s3: LocalS3;
  let store: ObjectStore;
  let fake: AthenaFake;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['lake'] });
    store = s3.store();
  });
  afterAll(async () => {
    await fake?.close();
    await s3.close();
  });

  it('answers a SELECT as GetQueryResults does (header row first) and refuses an UNLOAD into a non-empty prefix', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    fake = new AthenaFake({ store, database: 'trips', tables: [], python });
    const q = await fake.start('select 1 as n, \'a\' as s');
    expect(fake.execution(q)).toEqual({ State: 'SUCCEEDED', StateChangeReason: undefined });
    expect(fake.results(q, undefined).ResultSet.Rows).toEqual([{ Data: [{ VarCharValue: 'n' }, { VarCharValue: 's' }] }, { Data: [{ VarCharValue: '1' }, { VarCharValue: 'a' }] }]);
    await store.put('lake', 'out/x/existing', 'x');
    const u = await fake.start("UNLOAD (\nselect 1 as n\n) TO 's3://lake/out/x/' WITH (format = 'PARQUET', compression = 'SNAPPY')");
    expect(fake.execution(u)).toMatchObject({ State: 'FAILED', StateChangeReason: expect.stringContaining('HIVE_PATH_ALREADY_EXISTS') });
  });
});
