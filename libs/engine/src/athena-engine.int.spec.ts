import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecutionState,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';
import { baseSettings, loadConfig } from '@trips/core';
import { AthenaEngine, AthenaQueryError, athenaValue } from './athena-engine';
import { createEngine, engineSettings } from './factory';

// Athena has no local stand-in: its API is mocked (aws-sdk-client-mock); the object store is a real
// S3 server, so deleting the target prefix and listing what UNLOAD wrote are real.
const athena = mockClient(AthenaClient);
const target = { bucket: 'lake', prefix: 'clean/trips/ds=2018-05-28/' };
const validated = { name: 'validated_trips', location: { bucket: 'lake', prefix: 'validated/trips/ds=2018-05-28/' }, format: 'csv' as const, columns: ['region', 'datasource'], partition: { ds: '2018-05-28' } };

const state = (State: QueryExecutionState, extra: object = {}) => ({ QueryExecution: { Status: { State, ...extra } } });
const col = (Name: string, Type: string) => ({ Name, Type });
const row = (...values: Array<string | undefined>) => ({ Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })) });
const sentSql = () => athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString as string);

describe('Athena adapter', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let sleeps: number[];
  let clock: number;
  const engine = (extra: object = {}) =>
    new AthenaEngine({
      timeoutMs: 1_800_000,
      client: new AthenaClient({ region: 'eu-central-1' }),
      store,
      workgroup: 'trips',
      database: 'trips_lake',
      outputLocation: 's3://results/athena/',
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
      now: () => clock,
      ...extra,
    });

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['lake'] });
    store = s3.store();
  });
  afterAll(() => s3.close());
  beforeEach(async () => {
    await store.deleteKeys('lake', (await store.listAll('lake', '')).map((o) => o.key));
    athena.reset();
    sleeps = [];
    clock = 0;
  });

  it('reads a small query page by page, scoped to the partition of its input, with typed values', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena.on(GetQueryExecutionCommand).resolvesOnce(state('QUEUED')).resolvesOnce(state('RUNNING')).resolves(state('SUCCEEDED'));
    const meta = { ColumnInfo: [col('region', 'varchar'), col('n', 'bigint'), col('day', 'date'), col('at', 'timestamp'), col('share', 'double')] };
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined })
      .resolves({ ResultSet: { ResultSetMetadata: meta, Rows: [row('region', 'n', 'day', 'at', 'share'), row('Prague', '3', '2018-05-28', '2018-05-28 09:03:40.000', '0.5')] }, NextToken: 't2' })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 't2' })
      .resolves({ ResultSet: { ResultSetMetadata: meta, Rows: [row('Turin', '9007199254740993', '2018-05-29', '2018-05-29 10:00:00', undefined)] }, NextToken: 't3' })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 't3' })
      .resolves({ ResultSet: { ResultSetMetadata: meta, Rows: [row(undefined, '1', undefined, undefined, '1')] } });

    const rows = await engine().query({ sql: 'select region, count(*) as n from validated_trips group by region', inputs: [validated] });

    expect(rows).toEqual([
      { region: 'Prague', n: 3, day: '2018-05-28', at: '2018-05-28 09:03:40.000', share: 0.5 },
      { region: 'Turin', n: '9007199254740993', day: '2018-05-29', at: '2018-05-29 10:00:00.000', share: null },
      { region: null, n: 1, day: null, at: null, share: 1 },
    ]);
    const [start] = athena.commandCalls(StartQueryExecutionCommand);
    expect(start.args[0].input).toEqual({
      QueryString:
        `with "validated_trips" as (select "region", "datasource" from "trips_lake"."validated_trips" where ds = '2018-05-28')\n` +
        'select region, count(*) as n from validated_trips group by region',
      WorkGroup: 'trips',
      QueryExecutionContext: { Database: 'trips_lake', Catalog: 'AwsDataCatalog' },
      ResultConfiguration: { OutputLocation: 's3://results/athena/' },
      ClientRequestToken: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(3);
    expect(sleeps).toEqual([500, 1000]);
  });

  it('joins a model\'s own WITH list (after its comments) and looks up a Parquet table\'s columns once', async () => {
    let n = 0;
    athena.on(StartQueryExecutionCommand).callsFake(() => ({ QueryExecutionId: `q-${++n}` }));
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    const meta = (name: string, type: string) => ({ ColumnInfo: [col(name, type)] });
    athena.on(GetQueryResultsCommand).callsFake((input: { QueryExecutionId: string }) =>
      input.QueryExecutionId === 'q-1'
        ? { ResultSet: { ResultSetMetadata: meta('column_name', 'varchar'), Rows: [row('column_name'), row('trip_id'), row('region')] } }
        : { ResultSet: { ResultSetMetadata: meta('n', 'bigint'), Rows: [row('n'), row('7')] } },
    );
    const clean = { name: 'clean_trips', location: target, format: 'parquet' as const };
    const e = engine();
    await e.query({ sql: '-- a model\n/* with its notes */\nwith final as (select * from clean_trips) select count(*) as n from final', inputs: [clean] });
    await e.query({ sql: 'select count(*) as n from clean_trips', inputs: [clean] });

    expect(sentSql()).toEqual([
      "select column_name from information_schema.columns where table_schema = 'trips_lake' and table_name = 'clean_trips' and column_name <> 'ds' order by ordinal_position",
      `-- a model\n/* with its notes */\nwith "clean_trips" as (select "trip_id", "region" from "trips_lake"."clean_trips" where ds = '2018-05-28'),\nfinal as (select * from clean_trips) select count(*) as n from final`,
      `with "clean_trips" as (select "trip_id", "region" from "trips_lake"."clean_trips" where ds = '2018-05-28')\nselect count(*) as n from clean_trips`,
    ]);
  });

  const stagingOf = (sql: string) => /\) TO 's3:\/\/lake\/(_staging\/athena\/[0-9a-f-]{36}\/)' WITH/.exec(sql)?.[1];

  it('UNLOADs into a fresh staging prefix, copies the files in beside the old partition, then deletes the old files and the staging', async () => {
    const old = `${target.prefix}20181127_030000_00007_oldrn_3f1c`;
    await store.put('lake', old, 'PAR1 of an earlier write');
    const written = '20181128_030000_00012_x7k2p_a3b1c2d4-0000-4000-8000-000000000001';
    athena.on(StartQueryExecutionCommand).callsFake(async (input: { QueryString: string }) => {
      // What UNLOAD does: data files without an extension under its (empty) target; the old partition is still whole meanwhile.
      const staging = stagingOf(input.QueryString);
      if (staging) {
        expect((await store.listAll('lake', staging)).length).toBe(0);
        expect((await store.listAll('lake', target.prefix)).map((o) => o.key)).toEqual([old]);
        await store.put('lake', `${staging}${written}`, 'PAR1');
      }
      return { QueryExecutionId: input.QueryString.includes('information_schema') ? 'q-columns' : `q-${sentSql().length}` };
    });
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).callsFake((input: { QueryExecutionId: string }) =>
      input.QueryExecutionId === 'q-columns'
        ? { ResultSet: { ResultSetMetadata: { ColumnInfo: [col('column_name', 'varchar')] }, Rows: [row('column_name'), row('region'), row('datasource')] } }
        : { ResultSet: { ResultSetMetadata: { ColumnInfo: [col('n', 'bigint')] }, Rows: [row('n'), row('1968')] } },
    );

    const result = await engine().writeParquet({ sql: 'select region, datasource from validated_trips', inputs: [validated], target, table: 'clean_trips' });

    expect(result).toEqual({ rows: 1968, files: [`${target.prefix}${written}`] });
    expect((await store.listAll('lake', target.prefix)).map((o) => o.key)).toEqual([`${target.prefix}${written}`]);
    expect(await store.listAll('lake', '_staging/')).toEqual([]);
    const [unload, columns, count] = sentSql();
    expect(columns).toContain("table_name = 'clean_trips'");
    expect(unload).toBe(
      'UNLOAD (\n' +
        `with "validated_trips" as (select "region", "datasource" from "trips_lake"."validated_trips" where ds = '2018-05-28')\n` +
        'select region, datasource from validated_trips\n' +
        `) TO 's3://lake/${stagingOf(unload)}' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
    );
    expect(count).toBe(`with "clean_trips" as (select "region", "datasource" from "trips_lake"."clean_trips" where ds = '2018-05-28')\nselect count(*) as n from clean_trips`);
  });

  it('fails with Athena\'s reason and the query id when a query FAILED, leaving the old partition whole and no staging files', async () => {
    const old = `${target.prefix}20181127_030000_00007_oldrn_3f1c`;
    await store.put('lake', old, 'PAR1 of an earlier write');
    athena.on(StartQueryExecutionCommand).callsFake(async (input: { QueryString: string }) => {
      // Athena leaves the files it wrote before failing.
      const staging = stagingOf(input.QueryString);
      if (staging) await store.put('lake', `${staging}20181128_030000_00013_x7k2p_partial`, 'PAR1');
      return { QueryExecutionId: 'q-failed' };
    });
    athena.on(GetQueryExecutionCommand).resolves(state('FAILED', { StateChangeReason: "COLUMN_NOT_FOUND: line 2:8: Column 'regio' cannot be resolved" }));
    const error = await engine().writeParquet({ sql: 'select regio from validated_trips', inputs: [validated], target, table: 'clean_trips' }).catch((e) => e);
    expect(error).toBeInstanceOf(AthenaQueryError);
    expect(error.message).toMatch(/^Athena query q-failed FAILED: COLUMN_NOT_FOUND: line 2:8: Column 'regio' cannot be resolved \(query: UNLOAD \(/);
    expect(error.queryId).toBe('q-failed');
    expect((await store.listAll('lake', target.prefix)).map((o) => o.key)).toEqual([old]);
    expect(await store.getText('lake', old)).toBe('PAR1 of an earlier write');
    expect(await store.listAll('lake', '_staging/')).toEqual([]);
  });

  it('reports a CANCELLED query as such', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-c' });
    athena.on(GetQueryExecutionCommand).resolves(state('CANCELLED', { StateChangeReason: 'Query cancelled by user' }));
    await expect(engine().query({ sql: 'select 1', inputs: [] })).rejects.toThrow('Athena query q-c CANCELLED: Query cancelled by user');
  });

  it('retries throttling and transient errors with backoff, and nothing else, with the SDK\'s own retries off (one layer)', async () => {
    const built = createEngine(loadConfig({ ...baseSettings, ...engineSettings }, { TRIPS_ENGINE: 'athena', TRIPS_ATHENA_WORKGROUP: 'w', TRIPS_ATHENA_DATABASE: 'd' }), store) as AthenaEngine;
    expect(await built.client.config.maxAttempts()).toBe(1);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    athena.on(StartQueryExecutionCommand).rejectsOnce(throttled).rejectsOnce(throttled).resolves({ QueryExecutionId: 'q-t' });
    athena.on(GetQueryExecutionCommand).rejectsOnce(Object.assign(new Error('boom'), { name: 'InternalServerException' })).resolves(state('SUCCEEDED'));
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [col('x', 'integer')] }, Rows: [row('x'), row('1')] } });
    expect(await engine().query({ sql: 'select 1 as x', inputs: [] })).toEqual([{ x: 1 }]);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(3);
    // The retried start is the same request: one idempotency token for all its attempts.
    const tokens = athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.ClientRequestToken);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sleeps).toEqual([200, 400, 200]);

    athena.reset();
    athena.on(StartQueryExecutionCommand).rejects(Object.assign(new Error('Queries of this type are not supported'), { name: 'InvalidRequestException' }));
    await expect(engine().query({ sql: 'msck repair table x', inputs: [] })).rejects.toThrow('Athena StartQueryExecution failed: Queries of this type are not supported');
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(1);
  });

  it('stops a query that outlives the timeout, polling with capped exponential backoff', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-slow' });
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    const error = await engine({ timeoutMs: 20_000 }).query({ sql: 'select 1', inputs: [] }).catch((e) => e);
    expect(error.message).toMatch(/^Athena query q-slow still RUNNING after 20 s: stopped it/);
    expect(sleeps).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: 'q-slow' }]);
  });

  it('stops the running query when the task is interrupted', async () => {
    const interrupt = new AbortController();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-int' });
    athena.on(GetQueryExecutionCommand).callsFake(() => {
      interrupt.abort(); // SIGTERM arrives while the query runs
      return state('RUNNING');
    });
    athena.on(StopQueryExecutionCommand).resolves({});
    await expect(engine({ signal: interrupt.signal }).query({ sql: 'select 1', inputs: [] })).rejects.toThrow('Athena query q-int stopped: the task was interrupted');
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: 'q-int' }]);
  });

  it('converts result text as the port promises', () => {
    expect(athenaValue('42', 'integer')).toBe(42);
    expect(athenaValue('true', 'boolean')).toBe(true);
    expect(athenaValue('2018-05-28 09:03:40.123456', 'timestamp')).toBe('2018-05-28 09:03:40.123');
    expect(athenaValue('12.50', 'decimal')).toBe('12.50');
    expect(athenaValue(undefined, 'varchar')).toBeNull();
  });
});
