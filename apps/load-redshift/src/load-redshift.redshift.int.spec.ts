import { BatchExecuteStatementCommand, DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskManifest } from '@trips/core';
import { manifestKey, warehouseTables } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';
import { dialectSteps, RedshiftWarehouse, warehouseSchemaTables } from '@trips/warehouse';
import { writeLake } from './fixtures/lake';
import { runLoadRedshift, TASK } from './load-redshift';

// load-redshift with TRIPS_WAREHOUSE=redshift: the Data API mocked (no stand-in exists), the lake a
// real S3 server. Shows the app sends one batch per table, COPYing that table's partition of the day,
// and accounts each table's rows from what Redshift reports.
const WAREHOUSE_TABLES = warehouseTables();

const rsd = mockClient(RedshiftDataClient);
const buckets = { raw: 'raw', lake: 'lake' };
const DS = '2018-05-28';

describe('load-redshift on Redshift (Data API mocked)', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'load-redshift-'));
    await writeLake(store, buckets, work, DS, 0, 10);
  });
  afterAll(async () => {
    rsd.restore();
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  afterEach(() => rsd.reset());
  const openWarehouse = () => new RedshiftWarehouse({ timeoutMs: 3_600_000, client: new RedshiftDataClient({ region: 'eu-central-1' }), target: { workgroupName: 'trips', database: 'dev' }, copyRoleArn: 'arn:aws:iam::1:role/copy', sleep: async () => undefined });
  /** The schema's tables as information_schema answers the loader's look before any DDL. */
  const tablesPresent = (names: string[]) => {
    rsd.on(ExecuteStatementCommand).resolves({ Id: 'q-tables' });
    rsd.on(GetStatementResultCommand, { Id: 'q-tables' }).resolves({ ColumnMetadata: [{ name: 'table_name' }], Records: names.map((n) => [{ stringValue: n }]) });
  };

  it('loads every table of the day in its own batch and accounts staged, inserted and skipped rows', async () => {
    let batch = 0;
    tablesPresent([]);
    rsd.on(BatchExecuteStatementCommand).callsFake(() => ({ Id: `b-${++batch}` }));
    rsd.on(DescribeStatementCommand).callsFake(({ Id }: { Id: string }) => {
      if (Id === 'q-tables') return { Id, Status: 'FINISHED', HasResultSet: true };
      const n = Number(Id.slice(2));
      // Batch 1 is the DDL; then one per table: 10 staged, 7 inserted (the insert follows the 4
      // statements that stage and lock: statement 5 of a dimension's batch, later in the facts').
      const table = WAREHOUSE_TABLES[n - 2];
      const insertAt = table ? 4 + dialectSteps(table, 'redshift').findIndex((x) => x.count === 'inserted') : -1;
      return { Id, Status: 'FINISHED', SubStatements: Array.from({ length: 40 }, (_, i) => ({ Id: `${Id}:${i + 1}`, Status: 'FINISHED', ResultRows: i === insertAt ? 7 : -1 })) };
    });
    rsd.on(GetStatementResultCommand).resolves({ Records: [[{ longValue: 10 }]] });
    tablesPresent([]);

    const manifest = await runLoadRedshift({ store, buckets, openWarehouse }, DS);

    const batches = rsd.commandCalls(BatchExecuteStatementCommand).map((c) => c.args[0].input.Sqls as string[]);
    expect(batches).toHaveLength(1 + WAREHOUSE_TABLES.length);
    WAREHOUSE_TABLES.forEach((t, i) => expect(batches[i + 1][1]).toBe(`copy stage from 's3://lake/manifests/load_redshift/ds=${DS}/copy/${t.id}.manifest' iam_role 'arn:aws:iam::1:role/copy' format as parquet manifest`));
    // Staged first, the lock only for the swap.
    WAREHOUSE_TABLES.forEach((t, i) => expect(batches[i + 1].indexOf(`lock trips.${t.id}`)).toBeGreaterThan(batches[i + 1].findIndex((q) => q.startsWith('copy stage'))));
    expect(manifest.files.map((f) => [f.file, f.rows])).toEqual(WAREHOUSE_TABLES.map((t) => [`trips.${t.id}`, { read: 10, passed: 7, rejected: 0, duplicates: 3 }]));
    expect(await store.getJson<TaskManifest>('lake', manifestKey(TASK, DS))).toMatchObject({ status: 'succeeded', rows: { read: 60, passed: 42, duplicates: 18 } });
  });

  it('sends no DDL to a bootstrapped database, and names the fix when the loader lacks a privilege', async () => {
    tablesPresent(warehouseSchemaTables());
    rsd.on(BatchExecuteStatementCommand).resolves({ Id: 'b-1' });
    rsd.on(DescribeStatementCommand, { Id: 'q-tables' }).resolves({ Id: 'q-tables', Status: 'FINISHED', HasResultSet: true });
    rsd.on(DescribeStatementCommand, { Id: 'b-1' }).resolves({
      Id: 'b-1',
      Status: 'FAILED',
      SubStatements: [{ Id: 'b-1:1', Status: 'FINISHED' }, { Id: 'b-1:2', Status: 'FAILED', Error: 'ERROR: permission denied for relation dim_region' }],
    });
    const error = await runLoadRedshift({ store, buckets, openWarehouse }, DS).catch((e: Error) => e);
    const batches = rsd.commandCalls(BatchExecuteStatementCommand).map((c) => c.args[0].input.Sqls as string[]);
    // The first batch is already a table's load: no CREATE of any kind went out.
    expect(batches[0][0]).toMatch(/^create temp table stage /);
    expect(batches.flat().filter((q) => /^create (schema|table)/.test(q))).toEqual([]);
    expect((error as Error).message).toContain('permission denied for relation dim_region');
    expect((error as Error).message).toContain('an administrator runs `npx trips aws bootstrap` once per database (docs/aws.md, "Bootstrap the warehouse"), then give load-redshift\'s identity the role trips_loader');
  });
});
