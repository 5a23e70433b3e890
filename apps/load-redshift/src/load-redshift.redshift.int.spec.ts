import { BatchExecuteStatementCommand, DescribeStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import type { TaskManifest } from '@trips/core';
import { manifestKey, warehouseTables } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';
import { RedshiftWarehouse } from '@trips/warehouse';
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
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    for (const t of WAREHOUSE_TABLES) await store.put('lake', `model/${t.id}/ds=${DS}/part-00000.parquet`, 'PAR1');
  });
  afterAll(async () => {
    rsd.restore();
    await s3.close();
  });

  it('loads every table of the day in its own batch and accounts staged, inserted and skipped rows', async () => {
    let batch = 0;
    rsd.on(BatchExecuteStatementCommand).callsFake(() => ({ Id: `b-${++batch}` }));
    rsd.on(DescribeStatementCommand).callsFake(({ Id }: { Id: string }) => {
      const n = Number(Id.slice(2));
      // Batch 1 is the DDL; then one per table: 10 staged, 7 inserted (the insert is statement 5
      // of a dimension's batch, statement 12 of the facts').
      const insertAt = n === WAREHOUSE_TABLES.length + 1 ? 11 : 4;
      return { Id, Status: 'FINISHED', SubStatements: Array.from({ length: 25 }, (_, i) => ({ Id: `${Id}:${i + 1}`, Status: 'FINISHED', ResultRows: i === insertAt ? 7 : -1 })) };
    });
    rsd.on(GetStatementResultCommand).resolves({ Records: [[{ longValue: 10 }]] });
    const openWarehouse = () => new RedshiftWarehouse({ timeoutMs: 3_600_000, client: new RedshiftDataClient({ region: 'eu-central-1' }), target: { workgroupName: 'trips', database: 'dev' }, copyRoleArn: 'arn:aws:iam::1:role/copy', sleep: async () => undefined });

    const manifest = await runLoadRedshift({ store, buckets, openWarehouse }, DS);

    const batches = rsd.commandCalls(BatchExecuteStatementCommand).map((c) => c.args[0].input.Sqls as string[]);
    expect(batches).toHaveLength(1 + WAREHOUSE_TABLES.length);
    WAREHOUSE_TABLES.forEach((t, i) => expect(batches[i + 1][1]).toBe(`copy stage from 's3://lake/model/${t.id}/ds=${DS}/' iam_role 'arn:aws:iam::1:role/copy' format as parquet`));
    expect(manifest.files.map((f) => [f.file, f.rows])).toEqual(WAREHOUSE_TABLES.map((t) => [`trips.${t.id}`, { read: 10, passed: 7, rejected: 0, duplicates: 3 }]));
    expect(await store.getJson<TaskManifest>('lake', manifestKey(TASK, DS))).toMatchObject({ status: 'succeeded', rows: { read: 60, passed: 42, duplicates: 18 } });
  });
});
