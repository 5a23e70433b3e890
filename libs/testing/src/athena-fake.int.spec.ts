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
    expect(fake.execution(q)).toEqual({ State: 'SUCCEEDED', StateChangeReason: undefined, AthenaError: undefined });
    expect(fake.results(q, undefined).ResultSet.Rows).toEqual([{ Data: [{ VarCharValue: 'n' }, { VarCharValue: 's' }] }, { Data: [{ VarCharValue: '1' }, { VarCharValue: 'a' }] }]);
    await store.put('lake', 'out/x/existing', 'x');
    const u = await fake.start("UNLOAD (\nselect 1 as n\n) TO 's3://lake/out/x/' WITH (format = 'PARQUET', compression = 'SNAPPY')");
    expect(fake.execution(u)).toMatchObject({
      State: 'FAILED',
      StateChangeReason: "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'unload' already exists: s3://lake/out/x/",
      AthenaError: { ErrorCategory: 2, Retryable: false, ErrorMessage: expect.stringMatching(/^HIVE_PATH_ALREADY_EXISTS: /) },
    });
  });

  it('writes UNLOAD data files without an extension, as Athena names them, and reads them back by what they are', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    fake = new AthenaFake({ store, database: 'trips', tables: [{ name: 't', bucket: 'lake', root: 'tables/t/', format: 'parquet', columns: ['n'] }], python });
    const u = await fake.start("UNLOAD (\nselect 1 as n union all select 2\n) TO 's3://lake/tables/t/ds=2018-05-28/' WITH (format = 'PARQUET', compression = 'SNAPPY')");
    expect(fake.execution(u).State).toBe('SUCCEEDED');
    const keys = (await store.listAll('lake', 'tables/t/ds=2018-05-28/')).map((o) => o.key);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).toMatch(/^tables\/t\/ds=2018-05-28\/\d{8}_\d{6}_\d{5}_[a-z]{5}_[0-9a-f-]{36}$/);
    const q = await fake.start(`select sum(n) as total from "trips"."t" where ds = '2018-05-28'`);
    expect(fake.results(q, undefined).ResultSet.Rows[1]).toEqual({ Data: [{ VarCharValue: '3' }] });
    // A failing query reads as Athena's: a syntax error by name.
    const bad = await fake.start('selec 1');
    expect(fake.execution(bad)).toMatchObject({ State: 'FAILED', StateChangeReason: expect.stringMatching(/^SYNTAX_ERROR: /) });
  });

  it('fails, as Athena does, a query of a Parquet file whose column cannot be read as the type the table declares', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    const tables = [{ name: 'v', bucket: 'lake', root: 'tables/v/', format: 'parquet' as const, columns: ['source_file', 'line_no'], types: ['string', 'bigint'] }];
    fake = new AthenaFake({ store, database: 'trips', tables, python });
    const write = async (ds: string, lineNo: string) => {
      const u = await fake.start(`UNLOAD (\nselect 'a.csv' as source_file, ${lineNo} as line_no\n) TO 's3://lake/tables/v/ds=${ds}/' WITH (format = 'PARQUET', compression = 'SNAPPY')`);
      expect(fake.execution(u).State).toBe('SUCCEEDED');
    };
    await write('2018-05-28', "cast(7 as integer)");
    const ok = await fake.start(`select sum(line_no) as n from "trips"."v" where ds = '2018-05-28'`);
    expect(fake.results(ok, undefined).ResultSet.Rows[1]).toEqual({ Data: [{ VarCharValue: '7' }] });
    // The line number as text, where the table says bigint.
    await write('2018-05-29', "'7'");
    const bad = await fake.start(`select count(*) as n from "trips"."v"`);
    expect(fake.execution(bad)).toMatchObject({ State: 'FAILED', StateChangeReason: expect.stringMatching(/^HIVE_BAD_DATA: Field line_no's type VARCHAR in parquet file s3:\/\/lake\/tables\/v\/ds=2018-05-29\/\S+ is incompatible with type bigint defined in table schema$/) });
  });
});
