import * as api from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigError, loadConfig } from '@trips/core';
import { warehouseSchemaTables } from './bootstrap';
import { dialectSteps, schemaDdl } from './ddl';
import { createWarehouse, warehouseSettings } from './factory';
import { warehouseTables } from '@trips/pipeline';

const WAREHOUSE_TABLES = warehouseTables();
import { RedshiftWarehouse } from './redshift-warehouse';
import { AGGREGATES } from './aggregates';

/** A fact load's batch: staging (4), the owners, redeliveries and facts (14), and each aggregate's delta (3). */
const FACT_BATCH = 4 + 14 + 3 * AGGREGATES.length;

// The Redshift Data API has no local stand-in: it is mocked, and the SQL it is sent is asserted
// (the Postgres adapter runs the same load statements against a real PostgreSQL).
const rsd = mockClient(api.RedshiftDataClient);
const fact = WAREHOUSE_TABLES.find((t) => t.id === 'fact_trips')!;
const region = WAREHOUSE_TABLES.find((t) => t.id === 'dim_region')!;
/** What load-redshift hands a load: the partition, its checked files, the COPY manifest it wrote of them. */
const request = (table: string) => ({
  source: { bucket: 'trips-lake', prefix: `model/${table}/ds=2018-05-28/` },
  files: [{ key: `model/${table}/ds=2018-05-28/20181128_030000_00012_x7k2p_a3b1`, size: 4096 }],
  manifest: { bucket: 'trips-lake', key: `manifests/load_redshift/ds=2018-05-28/copy/${table}.manifest` },
  ds: '2018-05-28',
});
const ROLE = 'arn:aws:iam::123456789012:role/trips-redshift-copy';
const SECRET = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:trips-redshift';

describe('Redshift Data API adapter', () => {
  let sleeps: number[];
  let clock: number;
  const warehouse = (extra: object = {}) =>
    new RedshiftWarehouse({
      timeoutMs: 3_600_000,
      client: new api.RedshiftDataClient({ region: 'eu-central-1' }),
      target: { workgroupName: 'trips', database: 'dev', secretArn: SECRET },
      copyRoleArn: ROLE,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
      now: () => clock,
      ...extra,
    });
  const batchSqls = () => rsd.commandCalls(api.BatchExecuteStatementCommand).map((c) => c.args[0].input.Sqls as string[]);

  beforeEach(() => {
    rsd.reset();
    sleeps = [];
    clock = 0;
  });

  it('loads a day of facts in one batch: stage and COPY the partition, then lock, replace the day\'s deliveries and apply the aggregate deltas', async () => {
    rsd.on(api.BatchExecuteStatementCommand).resolves({ Id: 'b-1' });
    // 4 head statements, then the steps: the fact delete and insert are where the load steps put them.
    const steps = dialectSteps(fact, 'redshift');
    const deleteAt = 4 + steps.findIndex((x) => x.count === 'deleted');
    const insertAt = 4 + steps.findIndex((x) => x.count === 'inserted');
    const subs = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `b-1:${i + 1}`, Status: 'FINISHED' as const, ResultRows: i === insertAt ? 1968 : i === deleteAt ? 1900 : 5 }));
    rsd.on(api.DescribeStatementCommand).resolvesOnce({ Id: 'b-1', Status: 'STARTED' }).resolves({ Id: 'b-1', Status: 'FINISHED', SubStatements: subs(FACT_BATCH) });
    rsd.on(api.GetStatementResultCommand, { Id: 'b-1:3' }).resolves({ ColumnMetadata: [{ name: 'count' }], Records: [[{ longValue: 1970 }]] });

    const result = await warehouse().loadTable({ table: fact, ...request('fact_trips') });

    expect(result).toEqual({ table: 'fact_trips', staged: 1970, inserted: 1968, deleted: 1900, skipped: 2 });
    const [call] = rsd.commandCalls(api.BatchExecuteStatementCommand);
    expect(call.args[0].input).toMatchObject({ WorkgroupName: 'trips', Database: 'dev', SecretArn: SECRET, StatementName: 'trips-load-fact_trips-2018-05-28' });
    const sqls = call.args[0].input.Sqls as string[];
    expect(sqls).toHaveLength(FACT_BATCH);
    // Each aggregate's delta: update, insert, delete of emptied groups, at the end.
    expect(sqls.slice(-3 * AGGREGATES.length).filter((q) => q.startsWith('update trips.agg_'))).toHaveLength(AGGREGATES.length);
    expect(sqls.slice(0, 4)).toEqual([
      expect.stringMatching(/^create temp table stage \(trip_id char\(32\) not null, /),
      `copy stage from 's3://trips-lake/manifests/load_redshift/ds=2018-05-28/copy/fact_trips.manifest' iam_role '${ROLE}' format as parquet manifest`,
      'select count(*) from stage',
      'lock trips.fact_trips',
    ]);
    // The staging columns are in the files' order: COPY from Parquet maps by position.
    expect(sqls[0]).not.toContain(' ds ');
    expect(sqls[4]).toBe(
      "create temp table touched_trips as select trip_id, trip_ts, 1 as staged from stage union all select x.trip_id, x.trip_ts, 0 as staged from (select trip_id, trip_ts from trips.fact_trips where ds = cast('2018-05-28' as date) union select trip_id, trip_ts from trips.trip_redelivery where ds = cast('2018-05-28' as date)) x where not exists (select 1 from stage s where s.trip_id = x.trip_id and s.trip_ts = x.trip_ts)",
    );
    const at = (start: string) => sqls.findIndex((q) => q.startsWith(start));
    expect(sqls[at('delete from trips.fact_trips')]).toMatch(
      /^delete from trips\.fact_trips where trips\.fact_trips\.trip_ts between \(select lo from touched_span\) and \(select hi from touched_span\) and trip_id in \(select o\.trip_id from trip_owner o where o\.held_ds is not null/,
    );
    expect(sqls[at('insert into trips.fact_trips')]).toMatch(/^insert into trips\.fact_trips \(.*, ds\) select .*, cast\('2018-05-28' as date\) from stage s join trip_owner o/);
    // In order: the owners are settled, then the redeliveries rewritten, then the facts changed.
    expect([at('create temp table trip_owner'), at('insert into trips.trip_redelivery'), at('delete from trips.fact_trips'), at('insert into trips.fact_trips')].every((i, k, all) => i > 4 && (k === 0 || i > all[k - 1]))).toBe(true);
    expect(sqls.join('\n')).not.toMatch(/\$\d|on commit drop|^analyze/m);
    expect(sleeps).toEqual([500]);
  });

  it('merges a dimension without deleting anything', async () => {
    rsd.on(api.BatchExecuteStatementCommand).resolves({ Id: 'b-2' });
    rsd.on(api.DescribeStatementCommand).resolves({
      Id: 'b-2',
      Status: 'FINISHED',
      SubStatements: [1, 2, 3, 4, 5].map((i) => ({ Id: `b-2:${i}`, Status: 'FINISHED' as const, ResultRows: i === 5 ? 2 : -1 })),
    });
    rsd.on(api.GetStatementResultCommand, { Id: 'b-2:3' }).resolves({ ColumnMetadata: [{ name: 'count' }], Records: [[{ longValue: 5 }]] });
    expect(await warehouse().loadTable({ table: region, ...request('dim_region') })).toEqual({ table: 'dim_region', staged: 5, inserted: 2, deleted: 0, skipped: 3 });
    const [sqls] = batchSqls();
    expect(sqls).toHaveLength(5);
    expect(sqls[3]).toBe('lock trips.dim_region');
    expect(sqls[4]).toMatch(/^insert into trips\.dim_region \(region_key, name\) select distinct s\.region_key, s\.name from stage s where not exists/);
  });

  it('names the failing statement and Redshift\'s message when the batch fails', async () => {
    rsd.on(api.BatchExecuteStatementCommand).resolves({ Id: 'b-3' });
    rsd.on(api.DescribeStatementCommand).resolves({
      Id: 'b-3',
      Status: 'FAILED',
      Error: 'ERROR: Spectrum Scan Error',
      SubStatements: [
        { Id: 'b-3:1', Status: 'FINISHED' },
        { Id: 'b-3:2', Status: 'FAILED', QueryString: "copy stage from 's3://trips-lake/model/dim_region/ds=2018-05-28/' …", Error: 'ERROR: column 2 has type DOUBLE in the file, VARCHAR in the table' },
      ],
    });
    await expect(warehouse().loadTable({ table: region, ...request('dim_region') })).rejects.toThrow(
      "Redshift statement b-3 FAILED: statement 2 of 5 (copy stage from 's3://trips-lake/model/dim_region/ds=2018-05-28/' …): ERROR: column 2 has type DOUBLE in the file, VARCHAR in the table; the transaction was rolled back",
    );
  });

  it('sends queries with named parameters and reads every page of the result', async () => {
    rsd.on(api.ExecuteStatementCommand).resolves({ Id: 'q-1' });
    rsd.on(api.DescribeStatementCommand).resolves({ Id: 'q-1', Status: 'FINISHED', HasResultSet: true });
    rsd
      .on(api.GetStatementResultCommand, { Id: 'q-1', NextToken: undefined })
      .resolves({ ColumnMetadata: [{ name: 'week' }, { name: 'trips' }, { name: 'share' }], Records: [[{ stringValue: '2018-05-28' }, { longValue: 12 }, { doubleValue: 0.5 }]], NextToken: 'n2' })
      .on(api.GetStatementResultCommand, { Id: 'q-1', NextToken: 'n2' })
      .resolves({ Records: [[{ stringValue: '2018-06-04' }, { isNull: true }, { doubleValue: 1 }]] });

    const rows = await warehouse().query('select week, trips, share from trips.x where region_key = $1 and week >= $2 and n > $10', ['abc', '2018-05-28', 5]);

    expect(rows).toEqual([
      { week: '2018-05-28', trips: 12, share: 0.5 },
      { week: '2018-06-04', trips: null, share: 1 },
    ]);
    expect(rsd.commandCalls(api.ExecuteStatementCommand)[0].args[0].input).toMatchObject({
      Sql: 'select week, trips, share from trips.x where region_key = :p1 and week >= :p2 and n > :p10',
      Parameters: [
        { name: 'p1', value: 'abc' },
        { name: 'p2', value: '2018-05-28' },
        { name: 'p3', value: '5' },
      ],
      WorkgroupName: 'trips',
      Database: 'dev',
    });
    await expect(warehouse().query('select $1', [null])).rejects.toThrow('cannot be NULL ($1)');
  });

  it('retries throttling, cancels a statement past its timeout or on interruption', async () => {
    rsd.on(api.ExecuteStatementCommand).rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException' })).resolves({ Id: 'q-2' });
    rsd.on(api.DescribeStatementCommand).resolves({ Id: 'q-2', Status: 'STARTED' });
    rsd.on(api.CancelStatementCommand).resolves({ Status: true });
    await expect(warehouse({ timeoutMs: 10_000 }).query('select 1')).rejects.toThrow('Redshift statement q-2 still STARTED after 10 s: cancelled it');
    expect(sleeps).toEqual([200, 500, 1000, 2000, 4000, 5000]);
    expect(rsd.commandCalls(api.CancelStatementCommand).map((c) => c.args[0].input)).toEqual([{ Id: 'q-2' }]);

    rsd.reset();
    const interrupt = new AbortController();
    rsd.on(api.ExecuteStatementCommand).resolves({ Id: 'q-3' });
    rsd.on(api.DescribeStatementCommand).callsFake(() => {
      interrupt.abort();
      return { Id: 'q-3', Status: 'STARTED' };
    });
    rsd.on(api.CancelStatementCommand).resolves({ Status: true });
    await expect(warehouse({ signal: interrupt.signal }).query('select 1')).rejects.toThrow('Redshift statement q-3 cancelled: the task was interrupted');
    expect(rsd.commandCalls(api.CancelStatementCommand).map((c) => c.args[0].input)).toEqual([{ Id: 'q-3' }]);
  });

  /** What information_schema answers the adapter's look at the schema before any DDL. */
  const tablesPresent = (names: string[]) => {
    rsd.on(api.ExecuteStatementCommand).resolves({ Id: 'q-tables' });
    rsd.on(api.DescribeStatementCommand, { Id: 'q-tables' }).resolves({ Id: 'q-tables', Status: 'FINISHED', HasResultSet: true });
    rsd.on(api.GetStatementResultCommand, { Id: 'q-tables' }).resolves({ ColumnMetadata: [{ name: 'table_name' }], Records: names.map((n) => [{ stringValue: n }]) });
  };

  it('creates a schema that lacks a table in one batch of the Redshift DDL', async () => {
    tablesPresent(warehouseSchemaTables().slice(1));
    rsd.on(api.BatchExecuteStatementCommand).resolves({ Id: 'b-ddl' });
    rsd.on(api.DescribeStatementCommand, { Id: 'b-ddl' }).resolves({ Id: 'b-ddl', Status: 'FINISHED' });
    await warehouse().ensureSchema();
    expect(rsd.commandCalls(api.ExecuteStatementCommand)[0].args[0].input).toMatchObject({ Sql: 'select table_name from information_schema.tables where table_schema = :p1', Parameters: [{ name: 'p1', value: 'trips' }] });
    expect(batchSqls()).toEqual([schemaDdl('redshift')]);
  });

  it('sends no DDL to a bootstrapped schema (its user may create nothing)', async () => {
    tablesPresent(warehouseSchemaTables());
    await warehouse().ensureSchema();
    expect(batchSqls()).toEqual([]);
  });

  it('is chosen by TRIPS_WAREHOUSE=redshift and names every missing setting', () => {
    // The settings as loadConfig gives them: defaults filled in once, by the schema.
    const base = { ...loadConfig(warehouseSettings, {}), TRIPS_WAREHOUSE: 'redshift' as const, TRIPS_WORK_DIR: '/tmp' };
    expect(() => createWarehouse(base, undefined as never)).toThrow(new ConfigError('TRIPS_WAREHOUSE=redshift needs TRIPS_REDSHIFT_WORKGROUP (or TRIPS_REDSHIFT_CLUSTER), TRIPS_REDSHIFT_COPY_ROLE_ARN (see docs/aws.md)'));
    expect(() => createWarehouse({ ...base, TRIPS_REDSHIFT_CLUSTER: 'c', TRIPS_REDSHIFT_COPY_ROLE_ARN: ROLE }, undefined as never)).toThrow('TRIPS_REDSHIFT_SECRET_ARN or TRIPS_REDSHIFT_DB_USER (a cluster needs one)');
    expect(createWarehouse({ ...base, TRIPS_REDSHIFT_WORKGROUP: 'trips', TRIPS_REDSHIFT_COPY_ROLE_ARN: ROLE, AWS_REGION: 'eu-central-1' }, undefined as never).dialect).toBe('redshift');
  });
});
