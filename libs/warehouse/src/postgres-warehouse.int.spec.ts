import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Client } from 'pg';
import { partition } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startPostgres, startS3Server, type LocalPostgres, type LocalS3 } from '@trips/local';
import { checkedLoadFiles } from './load-files';
import { PostgresWarehouse, preparedName } from './postgres-warehouse';
import { AGGREGATES, aggregateFromScratch, aggregateValueColumns, BLOCK_CELLS, blockOf, PROBES_ONLY } from './aggregates';
import { gridCellSizes, largestGroups, weeklyByBox } from './queries';
import { q, weeklyAverage } from './questions';
import { warehouseTables } from '@trips/pipeline';
import { ConfigError, type Logger } from '@trips/core';
import { keyWords, TripFilter } from './trip-filter';
import { indexName } from './types';
import { probes } from './day-filters';
import { createStagedPartition, dayLoadLock, requirePostgresVersion } from './postgres-partitions';
import { dialectSteps } from './ddl';

const WAREHOUSE_TABLES = warehouseTables();

const buckets = { raw: 'raw', lake: 'lake' };
const fact = WAREHOUSE_TABLES.find((t) => t.id === 'fact_trips') as (typeof WAREHOUSE_TABLES)[number];
const region = WAREHOUSE_TABLES.find((t) => t.id === 'dim_region') as (typeof WAREHOUSE_TABLES)[number];
const key = (n: number) => n.toString(16).padStart(32, '0');
/** key(n) as PostgreSQL writes a uuid. */
const uuid = (n: number) => key(n).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');

describe('PostgresWarehouse', () => {
  let s3: LocalS3;
  let pg: LocalPostgres;
  let store: ObjectStore;
  let work: string;
  let wh: PostgresWarehouse;

  /** Writes Parquet made by a DuckDB SELECT into a lake partition. */
  async function lake(table: 'fact_trips' | 'dim_region' | 'dim_trip_group', ds: string, select: string): Promise<void> {
    const loc = partition(buckets, table, ds);
    await store.deletePrefix(loc.bucket, loc.prefix);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const file = join(work, `${table}-${ds}.parquet`);
    await con.run(`copy (${select}) to '${file}' (format parquet)`);
    con.closeSync();
    db.closeSync();
    await store.upload(file, loc.bucket, `${loc.prefix}part-00000.parquet`);
  }

  // Trip i starts i minutes (or, with spreadDays, i days) after 2018-05-28 09:00, in one of three
  // groups, of two regions (a group is of one region: its key is made of it, models' macros.ts).
  const trips = (ids: number[], spreadDays = false) =>
    `select * from (values ${ids
      .map((i) => `('${key(i)}', timestamp '2018-05-28 09:00:00' + interval ${i} ${spreadDays ? 'day' : 'minute'}, 14.4::double, 50.0::double, 14.5::double, 50.1::double, '${key(1000 + ((i % 3) % 2))}', '${key(2000)}', 20180528, 9, '${key(3000 + (i % 3))}', ${1440 + (i % 4)}::integer, 5000::integer, 1450::integer, 5010::integer)`)
      .join(', ')}) t(trip_id, trip_ts, origin_lon, origin_lat, dest_lon, dest_lat, region_key, datasource_key, date_key, time_of_day_key, trip_group_key, origin_cell_x, origin_cell_y, dest_cell_x, dest_cell_y)`;

  const load = async (table: typeof fact, ds: string) => {
    const source = partition(buckets, table, ds);
    return wh.loadTable({ table, ds, source, files: await checkedLoadFiles(store, table, source), manifest: { bucket: 'lake', key: `copy/${table.id}.manifest` } });
  };
  /** Two days of facts whose trips overlap, loaded: what the layout upgrades start from. */
  const loadTwoDays = async () => {
    await lake('fact_trips', '2018-06-03', trips([3, 4, 5, 11], true));
    await lake('fact_trips', '2018-06-10', trips([1, 2, 3, 4, 5], true));
    await load(fact, '2018-06-03');
    await load(fact, '2018-06-10');
  };
  /** After an upgrade of loadTwoDays' warehouse: a rerun of its first day is exact. */
  const loadsGoOnExactly = async () => {
    await lake('fact_trips', '2018-06-03', trips([5, 12], true));
    await load(fact, '2018-06-03');
    expect((await factRows()).sort()).toEqual(['2018-06-03:005', '2018-06-03:00c', '2018-06-10:001', '2018-06-10:002', '2018-06-10:003', '2018-06-10:004'].sort());
    await agree();
  };
  /** Every delivery the warehouse knows of: the owners' (the facts) and the others' (the redeliveries). */
  const allDeliveries = () =>
    wh.query<{ ds: string; trip_id: string; trip_ts: string }>(
      "select to_char(ds, 'YYYY-MM-DD') as ds, cast(trip_id as text) as trip_id, cast(trip_ts as text) as trip_ts from (select ds, trip_id, trip_ts from trips.fact_trips union all select ds, trip_id, trip_ts from trips.trip_redelivery) d order by 1, 2",
    );
  const redeliveries = () => wh.query('select * from trips.trip_redelivery order by ds, trip_id');
  /**
   * The delivery record of the earlier layouts, every delivery of every trip, in place of the
   * redelivery record: partitioned by day with a primary key (the layout before this one), or
   * one table without trip_ts, with a trip_id index (the one before that).
   */
  const earlierDeliveryRecord = async (partitioned: boolean) => {
    const rows = await allDeliveries();
    await wh.query('drop table trips.trip_redelivery');
    if (partitioned) {
      await wh.query('create table trips.trip_delivery (ds date not null, trip_id uuid not null, trip_ts timestamp not null, primary key (ds, trip_id)) partition by list (ds)');
      for (const ds of new Set(rows.map((r) => r.ds))) await wh.query(`create table trips.trip_delivery_d${ds.replace(/-/g, '')} partition of trips.trip_delivery for values in ('${ds}')`);
      await wh.query('create index trip_delivery_trip_ts_idx on trips.trip_delivery (trip_ts)');
    } else {
      await wh.query('create table trips.trip_delivery (ds date not null, trip_id uuid not null, primary key (ds, trip_id))');
      await wh.query('create index trip_delivery_trip_id_idx on trips.trip_delivery (trip_id)');
    }
    for (const r of rows) {
      await wh.query(`insert into trips.trip_delivery (ds, trip_id${partitioned ? ', trip_ts' : ''}) values (cast($1 as date), cast($2 as uuid)${partitioned ? ', cast($3 as timestamp)' : ''})`, partitioned ? [r.ds, r.trip_id, r.trip_ts] : [r.ds, r.trip_id]);
    }
  };
  /** The primary keys on the facts and the delivery records, their partitions included. */
  const primaryKeys = async () =>
    (await wh.query<{ name: string }>("select conname as name from pg_constraint k join pg_class c on c.oid = k.conrelid where k.contype = 'p' and (c.relname like 'fact_trips%' or c.relname like 'trip_delivery%') order by 1")).map((r) => r.name);
  const factRows = async () => (await wh.query<{ trip_id: string; ds: string }>(`select trip_id, to_char(ds, 'YYYY-MM-DD') as ds from trips.fact_trips order by trip_id`)).map((r) => `${r.ds}:${r.trip_id.slice(-3)}`);

  beforeAll(async () => {
    [s3, pg] = await Promise.all([startS3Server({ buckets: ['lake'] }), startPostgres()]);
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'wh-'));
  }, 60_000);
  beforeEach(async () => {
    wh = new PostgresWarehouse(pg.url, store, work);
    await wh.query('drop schema if exists trips cascade');
    await wh.ensureSchema();
    await wh.ensureSchema();
  });
  afterEach(() => wh.close());
  afterAll(async () => {
    await Promise.all([s3.close(), pg.stop()]);
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a PostgreSQL older than 15, which has no MERGE, naming the version it runs', async () => {
    const older = { query: async () => ({ rows: [{ num: '140011', version: '14.11 (Debian 14.11-1.pgdg120+2)' }] }) } as unknown as Pick<Client, 'query'>;
    const refused = requirePostgresVersion(older);
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow('the warehouse needs PostgreSQL 15 or later (its loads use MERGE); the server TRIPS_PG_URL names runs 14.11 (Debian 14.11-1.pgdg120+2)');
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      await expect(requirePostgresVersion(c)).resolves.toBeUndefined();
    } finally {
      await c.end();
    }
  });

  it('merges dimension members: new ones inserted, present ones left alone', async () => {
    await lake('dim_region', '2018-05-28', `select * from (values ('${key(1)}', 'Prague'), ('${key(2)}', 'Turin')) t(region_key, name)`);
    expect(await load(region, '2018-05-28')).toEqual({ table: 'dim_region', staged: 2, inserted: 2, deleted: 0, skipped: 0 });
    await lake('dim_region', '2018-05-29', `select * from (values ('${key(2)}', 'Turin'), ('${key(3)}', 'Hamburg')) t(region_key, name)`);
    expect(await load(region, '2018-05-29')).toEqual({ table: 'dim_region', staged: 2, inserted: 1, deleted: 0, skipped: 1 });
    expect(await load(region, '2018-05-29')).toMatchObject({ inserted: 0, skipped: 2 });
    expect((await wh.query<{ name: string }>('select name from trips.dim_region order by name')).map((r) => r.name)).toEqual(['Hamburg', 'Prague', 'Turin']);
    // A member staged twice is inserted once.
    await lake('dim_region', '2018-05-30', `select * from (values ('${key(4)}', 'Lyon'), ('${key(4)}', 'Lyon'), ('${key(1)}', 'Prague')) t(region_key, name)`);
    expect(await load(region, '2018-05-30')).toEqual({ table: 'dim_region', staged: 3, inserted: 1, deleted: 0, skipped: 2 });
    expect(await wh.query('select name from trips.dim_region where name = $1', ['Lyon'])).toEqual([{ name: 'Lyon' }]);
  });

  it('merges a dimension by probing its key for each staged member in key order, not by hashing the whole dimension', async () => {
    const steps = dialectSteps(region, 'postgres');
    const step = steps.find((s) => s.count === 'inserted') as (typeof steps)[number];
    expect(steps.map((s) => s.sql)).toEqual([...PROBES_ONLY.on, step.sql, ...PROBES_ONLY.off]);
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      await c.query('begin');
      // A dimension of 200k members and a stage of 50k, half of them there already: left to itself the planner hashes the dimension.
      await c.query(`insert into trips.dim_region (region_key, name) select md5(i::text)::uuid, 'r' || i from generate_series(1, 200000) i`);
      await c.query(`create temp table stage on commit drop as select md5(i::text)::uuid as region_key, 'r' || i as name from generate_series(150001, 200000) i order by md5(i::text || 'x')`);
      await c.query('analyze trips.dim_region');
      await c.query('analyze stage');
      // The plan's nodes, one a line, without their costs.
      const plan = async () => (await c.query<{ 'QUERY PLAN': string }>(`explain ${step.sql}`)).rows.map((r) => r['QUERY PLAN'].replace(/\s+\(cost=.*\)$/, '').trim()).join('\n');
      expect(await plan()).toMatch(/Hash (Right )?Anti Join/);
      for (const sql of PROBES_ONLY.on) await c.query(sql);
      const forced = await plan();
      expect(forced.split('\n')).toEqual([
        'Insert on dim_region',
        '->  Nested Loop Anti Join',
        '->  Unique',
        '->  Sort',
        'Sort Key: stage.region_key',
        '->  Seq Scan on stage',
        '->  Index Only Scan using dim_region_pkey on dim_region x',
        'Index Cond: (region_key = stage.region_key)',
      ]);
      expect((await c.query(step.sql)).rowCount).toBe(0);
    } finally {
      await c.query('rollback');
      await c.end();
    }
  });

  it('replaces a fact partition on rerun and keeps values exactly', async () => {
    await lake('fact_trips', '2018-05-28', trips([1, 2, 3]));
    expect(await load(fact, '2018-05-28')).toEqual({ table: 'fact_trips', staged: 3, inserted: 3, deleted: 0, skipped: 0 });
    expect(await load(fact, '2018-05-28')).toEqual({ table: 'fact_trips', staged: 3, inserted: 3, deleted: 3, skipped: 0 });
    const [row] = await wh.query<Record<string, unknown>>(`select origin_lon, dest_cell_y, to_char(trip_ts, 'YYYY-MM-DD HH24:MI:SS') as ts from trips.fact_trips where trip_id = '${key(2)}'`);
    expect(row).toEqual({ origin_lon: 14.4, dest_cell_y: 5010, ts: '2018-05-28 09:02:00' });
    await lake('fact_trips', '2018-05-28', trips([1]));
    await load(fact, '2018-05-28');
    expect(await factRows()).toEqual([`2018-05-28:${key(1).slice(-3)}`]);
  });

  const agree = async () => {
    for (const a of AGGREGATES) {
      const cols = [...a.groupBy.map((g) => g.column), ...aggregateValueColumns(a)].join(', ');
      const diff = await wh.query(`(select ${cols} from trips.${a.name} except select * from (${aggregateFromScratch(a)}) s) union all (select * from (${aggregateFromScratch(a)}) s except select ${cols} from trips.${a.name})`);
      expect({ aggregate: a.name, diff }).toEqual({ aggregate: a.name, diff: [] });
    }
  };

  const fresh = async () => {
    await wh.query('drop schema if exists trips cascade');
    await wh.ensureSchema();
  };

  it('keeps a trip delivered on two days once, under the earliest day, whichever day loads first, and counts the duplicate', async () => {
    await lake('fact_trips', '2018-05-28', trips([1, 2, 3]));
    await lake('fact_trips', '2018-05-29', trips([3, 4]));
    await load(fact, '2018-05-28');
    expect(await load(fact, '2018-05-29')).toMatchObject({ staged: 2, inserted: 1, skipped: 1 });
    const inOrder = await factRows();
    expect(inOrder).toHaveLength(4);

    await fresh();
    await load(fact, '2018-05-29');
    expect(await load(fact, '2018-05-28')).toMatchObject({ staged: 3, inserted: 3, deleted: 1, skipped: 0 });
    expect(await factRows()).toEqual(inOrder);
  });

  it('keeps the trips another day delivers when a rerun drops them from its own batch', async () => {
    await lake('fact_trips', '2018-05-28', trips([1, 2, 3, 4, 5]));
    await lake('fact_trips', '2018-05-29', trips([4, 5, 6]));
    await load(fact, '2018-05-28');
    expect(await load(fact, '2018-05-29')).toMatchObject({ staged: 3, inserted: 1, skipped: 2 });
    await lake('fact_trips', '2018-05-28', trips([1, 2, 3]));
    await load(fact, '2018-05-28');
    const id = (ds: string, i: number) => `${ds}:${key(i).slice(-3)}`;
    expect(await factRows()).toEqual([id('2018-05-28', 1), id('2018-05-28', 2), id('2018-05-28', 3), id('2018-05-29', 4), id('2018-05-29', 5), id('2018-05-29', 6)]);
  });

  it('rolls a failed load back, leaving the table as it was', async () => {
    await lake('fact_trips', '2018-05-28', trips([1, 2]));
    await load(fact, '2018-05-28');
    const before = { facts: await factRows(), partitions: await wh.query("select relname from pg_class where relname like 'fact_trips_d%' order by 1") };
    // A failure at the last step, after the day's partition was swapped: an aggregate refuses its new count.
    await wh.query('alter table trips.agg_datasource_region add constraint at_most_one check (trips <= 1)');
    await lake('fact_trips', '2018-05-28', trips([1, 2, 3]));
    await expect(load(fact, '2018-05-28')).rejects.toThrow(/loading trips\.fact_trips for ds=2018-05-28 failed, nothing changed: .*at_most_one/);
    expect({ facts: await factRows(), partitions: await wh.query("select relname from pg_class where relname like 'fact_trips_d%' order by 1") }).toEqual(before);
    await wh.query('alter table trips.agg_datasource_region drop constraint at_most_one');
    // A lake row without its key fails the staging COPY, naming the column, rather than being left out.
    await lake('fact_trips', '2018-05-28', `select * replace (case when trip_id = '${key(2)}' then null else trip_id end as trip_id) from (${trips([1, 2])})`);
    await expect(load(fact, '2018-05-28')).rejects.toThrow(/loading trips\.fact_trips for ds=2018-05-28 failed, nothing changed: .*null value in column "trip_id"/);
    expect(await factRows()).toEqual(before.facts);
  });

  it("stages a day's facts in a table of its own, replacing those killed loads left, and loads two of the same day one after the other", async () => {
    const leftovers = async () => (await wh.query<{ name: string }>("select relname as name from pg_class where relname like '%staged%' order by 1")).map((r) => r.name);
    // Loads killed after staging left their tables: one of the day loaded below, with a row and an
    // index of its own, and two of other days, one of whose loads still runs (it holds its day's lock).
    const running = new Client({ connectionString: pg.url });
    await running.connect();
    for (const ds of ['2018-05-28', '2018-05-20', '2018-05-21']) await createStagedPartition(running, 'fact_trips', ds);
    const lock21 = dayLoadLock('fact_trips', '2018-05-21');
    await running.query(lock21.lock, lock21.params);
    await wh.query(
      `insert into trips.fact_trips_d20180528_staged values ('${key(7)}', '2018-05-28 09:07:00', 14.4, 50.0, 14.5, 50.1, '${key(1000)}', '${key(2000)}', 20180528, 9, '${key(3001)}', 1441, 5000, 1450, 5010, '2018-05-28')`,
    );
    await wh.query('create index fact_trips_d20180528_staged_trip_ts_idx on trips.fact_trips_d20180528_staged (trip_ts)');
    // An index of the parent made by hand: attaching builds it on the day's partition.
    await wh.query('create index my_trips_by_group on trips.fact_trips (trip_group_key)');
    await lake('fact_trips', '2018-05-28', trips([1, 2]));
    try {
      expect(await load(fact, '2018-05-28')).toMatchObject({ inserted: 2, deleted: 0 });
      expect(await leftovers()).toEqual(['fact_trips_d20180521_staged']);
    } finally {
      await running.end();
    }
    expect(await factRows()).toEqual(['2018-05-28:001', '2018-05-28:002']);
    const partitionIndexes = await wh.query<{ name: string }>("select i.relname as name from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = 'trips.fact_trips_d20180528'::regclass order by 1");
    expect(partitionIndexes.map((r) => r.name)).toEqual(
      [...(fact.warehouse.postgresIndexes ?? []).map((cols) => indexName('fact_trips_d20180528', cols)), 'fact_trips_d20180528_trip_group_key_idx'].sort(),
    );
    // Two loads of the same day at once, on two connections: the second waits for the first's end.
    const other = new PostgresWarehouse(pg.url, store, work);
    try {
      await lake('fact_trips', '2018-05-28', trips([1, 2, 3]));
      const source = partition(buckets, fact, '2018-05-28');
      const request = { table: fact, ds: '2018-05-28', source, files: await checkedLoadFiles(store, fact, source), manifest: { bucket: 'lake', key: `copy/${fact.id}.manifest` } };
      const [a, b] = await Promise.all([wh.loadTable(request), other.loadTable(request)]);
      expect([a, b].map((r) => r.inserted).sort()).toEqual([3, 3]);
      expect([a, b].map((r) => r.deleted).sort()).toEqual([2, 3]);
    } finally {
      await other.close();
    }
    expect(await factRows()).toEqual(['2018-05-28:001', '2018-05-28:002', '2018-05-28:003']);
    expect(await leftovers()).toEqual([]);
    await agree();
  });

  it('loads an empty partition as zero rows and deletes the day', async () => {
    await lake('fact_trips', '2018-05-28', trips([1]));
    await load(fact, '2018-05-28');
    await store.deletePrefix('lake', partition(buckets, 'fact_trips', '2018-05-28').prefix);
    expect(await load(fact, '2018-05-28')).toEqual({ table: 'fact_trips', staged: 0, inserted: 0, deleted: 1, skipped: 0 });
  });

  it('keeps each day\'s trips in its own partition, built afresh with its indexes by each load of the day', async () => {
    const partitions = async () =>
      (await wh.query<{ name: string; n: string }>('select c.relname as name, count(*) as n from trips.fact_trips f join pg_class c on c.oid = f.tableoid group by 1 order by 1')).map((r) => `${r.name}:${r.n}`);
    // The partition's indexes, each a partition of the parent's (built on the staged table, adopted when attached).
    const indexes = async (name: string) =>
      (
        await wh.query<{ index: string; parent: string | null }>(
          `select i.relname as index, p.relname as parent from pg_index x join pg_class i on i.oid = x.indexrelid left join pg_inherits h on h.inhrelid = x.indexrelid left join pg_class p on p.oid = h.inhparent
           where x.indrelid = cast($1 as regclass) order by 1`,
          [`trips.${name}`],
        )
      ).map((r) => `${r.index} of ${r.parent}`);
    const expected = (name: string) => (fact.warehouse.postgresIndexes ?? []).map((cols) => `${indexName(name, cols)} of ${indexName('fact_trips', cols)}`).sort();
    await lake('fact_trips', '2018-06-10', trips([1, 2, 9, 20], true));
    expect(await load(fact, '2018-06-10')).toMatchObject({ inserted: 4, deleted: 0 });
    expect(await partitions()).toEqual(['fact_trips_d20180610:4']);
    // Every index of the parent, on the partition (no primary key: ddl.ts says why).
    expect(await indexes('fact_trips_d20180610')).toEqual(expected('fact_trips_d20180610'));
    // An earlier day delivering two of them takes them over: they move out of 06-10's partition.
    await lake('fact_trips', '2018-06-03', trips([2, 9], true));
    expect(await load(fact, '2018-06-03')).toMatchObject({ inserted: 2, deleted: 2 });
    expect(await partitions()).toEqual(['fact_trips_d20180603:2', 'fact_trips_d20180610:2']);
    // A rerun of 06-10 without trip 20: the partition is rebuilt with what the day still owns.
    await lake('fact_trips', '2018-06-10', trips([1, 9], true));
    expect(await load(fact, '2018-06-10')).toMatchObject({ inserted: 1, deleted: 2, skipped: 1 });
    expect(await partitions()).toEqual(['fact_trips_d20180603:2', 'fact_trips_d20180610:1']);
    expect(await indexes('fact_trips_d20180610')).toEqual(expected('fact_trips_d20180610'));
    await agree();
  });

  it('moves a warehouse of the earlier layout (facts in one table, every delivery recorded without trip_ts) into this one, row for row', async () => {
    await loadTwoDays();
    const before = { facts: await factRows(), redeliveries: await redeliveries() };
    // Trips 3, 4 and 5 are delivered by both days: 06-10's deliveries of them are the redeliveries.
    expect(before.redeliveries.map((r) => `${(r as { trip_id: string }).trip_id.slice(-3)}`)).toEqual(['003', '004', '005']);
    // The earlier layout: the same rows in an unpartitioned table keyed by trip_id, with its own indexes.
    await wh.query('create table trips.facts_copy as select * from trips.fact_trips');
    await wh.query('drop table trips.fact_trips');
    await wh.query('alter table trips.facts_copy rename to fact_trips');
    await wh.query('alter table trips.fact_trips add primary key (trip_id)');
    await wh.query('create index fact_trips_ds_idx on trips.fact_trips (ds)');
    await wh.query('create index fact_trips_trip_ts_idx on trips.fact_trips (trip_ts)');
    await earlierDeliveryRecord(false);
    await wh.ensureSchema();
    expect({ facts: await factRows(), redeliveries: await redeliveries() }).toEqual(before);
    const kinds = await wh.query<{ relname: string; relkind: string }>(
      "select relname, relkind from pg_class where relnamespace = cast('trips' as regnamespace) and relname in ('fact_trips', 'fact_trips_unpartitioned', 'fact_trips_ds_idx', 'fact_trips_d20180603', 'trip_delivery', 'trip_delivery_unpartitioned', 'trip_delivery_trip_id_idx', 'trip_redelivery') order by relname",
    );
    expect(kinds).toEqual([
      { relname: 'fact_trips', relkind: 'p' },
      { relname: 'fact_trips_d20180603', relkind: 'r' },
      { relname: 'trip_redelivery', relkind: 'r' },
    ]);
    expect(await primaryKeys()).toEqual([]);
    // And loads go on from there exactly.
    await loadsGoOnExactly();
  });

  it('drops the primary keys and the day-partitioned record of every delivery of the layout before, keeping the redeliveries, and loads on exactly', async () => {
    await loadTwoDays();
    const before = { facts: await factRows(), redeliveries: await redeliveries() };
    // The layout before: (key, ds) primary keys on the partitioned facts, so on each partition, and
    // every delivery in trip_delivery, partitioned by day.
    await wh.query('alter table trips.fact_trips add primary key (trip_id, ds)');
    await earlierDeliveryRecord(true);
    expect((await primaryKeys()).length).toBeGreaterThan(2);
    await wh.ensureSchema();
    expect(await primaryKeys()).toEqual([]);
    expect(await wh.query("select relname from pg_class where relname like 'trip_delivery%'")).toEqual([]);
    expect({ facts: await factRows(), redeliveries: await redeliveries() }).toEqual(before);
    await loadsGoOnExactly();
  });

  it("drops the indexes the catalog no longer lists (the facts' (y, x) cell indexes), from every partition, and keeps the others", async () => {
    await loadTwoDays();
    const indexesOf = async (name: string) =>
      (await wh.query<{ i: string }>('select indexname as i from pg_indexes where schemaname = $1 and tablename = $2 order by 1', ['trips', name])).map((r) => r.i.replace(/^fact_trips_d\d{8}_/, 'fact_trips_'));
    const listed = (fact.warehouse.postgresIndexes ?? []).map((cols) => `fact_trips_${cols.join('_')}_idx`).sort();
    expect(await indexesOf('fact_trips')).toEqual(listed);
    // The layout before: (y, x) cell indexes besides (x, y); and one of the user's, named otherwise.
    await wh.query('create index fact_trips_origin_cell_y_origin_cell_x_idx on trips.fact_trips (origin_cell_y, origin_cell_x)');
    await wh.query('create index fact_trips_dest_cell_y_dest_cell_x_idx on trips.fact_trips (dest_cell_y, dest_cell_x)');
    await wh.query('create index my_trips_by_time on trips.fact_trips (trip_ts)');
    expect(await indexesOf('fact_trips_d20180603')).toHaveLength(listed.length + 3);
    await wh.ensureSchema();
    const kept = [...listed, 'my_trips_by_time'].sort();
    expect(await indexesOf('fact_trips')).toEqual(kept);
    expect((await indexesOf('fact_trips_d20180603')).map((i) => i.replace(/^fact_trips_trip_ts_idx\d$/, 'my_trips_by_time')).sort()).toEqual(kept);
    // The dimensions keep their primary keys.
    expect(await indexesOf('dim_trip_group')).toEqual(['dim_trip_group_pkey']);
    await loadsGoOnExactly();
  });

  it("keeps the trip groups' cell sizes in a set of their own, which each load adds to, filled from the dimension of a warehouse older than it (its index of them dropped)", async () => {
    const groups = WAREHOUSE_TABLES.find((t) => t.id === 'dim_trip_group') as (typeof WAREHOUSE_TABLES)[number];
    const members = (rows: Array<[number, number]>) =>
      `select * from (values ${rows.map(([g, deg]) => `('${key(g)}', '${key(1000)}', 1440, 5000, 1450, 5010, 9, ${deg}::double, 60)`).join(', ')}) t(trip_group_key, region_key, origin_cell_x, origin_cell_y, dest_cell_x, dest_cell_y, time_bucket, cell_size_deg, bucket_minutes)`;
    const values = async () => (await wh.query<{ v: number }>('select cell_size_deg as v from trips.dim_trip_group_cell_size_deg_values order by 1')).map((r) => r.v);
    const sizes = () => q<{ min_deg: number | null; max_deg: number | null }>(wh, gridCellSizes());
    expect(await sizes()).toEqual([{ min_deg: null, max_deg: null }]);
    await lake('dim_trip_group', '2018-05-28', members([[1, 0.01], [2, 0.01]]));
    expect(await load(groups, '2018-05-28')).toMatchObject({ staged: 2, inserted: 2 });
    expect(await values()).toEqual([0.01]);
    expect(await sizes()).toEqual([{ min_deg: 0.01, max_deg: 0.01 }]);
    // The layout before: an index of the dimension's cell sizes, no set of them; a member of another size.
    await wh.query('drop table trips.dim_trip_group_cell_size_deg_values');
    await wh.query('create index dim_trip_group_cell_size_deg_idx on trips.dim_trip_group (cell_size_deg)');
    await wh.query(`insert into trips.dim_trip_group values ('${key(3)}', '${key(1000)}', 1440, 5000, 1450, 5010, 9, 0.1, 60)`);
    await wh.ensureSchema();
    expect((await wh.query<{ i: string }>("select indexname as i from pg_indexes where tablename = 'dim_trip_group'")).map((r) => r.i)).toEqual(['dim_trip_group_pkey']);
    expect(await values()).toEqual([0.01, 0.1]);
    // A load adds the sizes of its members the set lacks, new members or not, once each.
    await lake('dim_trip_group', '2018-05-29', members([[1, 0.01], [4, 0.05], [5, 0.05]]));
    expect(await load(groups, '2018-05-29')).toMatchObject({ staged: 3, inserted: 2 });
    expect(await values()).toEqual([0.01, 0.05, 0.1]);
    expect(await sizes()).toEqual([{ min_deg: 0.01, max_deg: 0.1 }]);
    // A set that holds rows is left as it is by the schema's DDL.
    await wh.ensureSchema();
    expect(await values()).toEqual([0.01, 0.05, 0.1]);
    // A box question needs one cell size.
    await expect(weeklyAverage(wh, { area: { box: { minLon: 14.4, minLat: 50, maxLon: 14.5, maxLat: 50.1 }, match: 'origin' } })).rejects.toThrow(
      'the warehouse holds trip groups of grid cell sizes 0.01 to 0.1; reload with one TRIPS_GRID_CELL_DEG',
    );
  });

  it('puts a grid cell in its block by floor division, negative cells too, as the both-ends box question cuts the box', async () => {
    const cells = Array.from({ length: 41 }, (_, i) => i - 20).concat([-2147483648 + 3, 2147483647]);
    const rows = await wh.query<{ cell: number; block: number }>(`select cell, ${blockOf('cell')} as block from unnest($1::integer[]) as u(cell) order by cell`, [cells]);
    expect(rows.map((r) => [r.cell, r.block])).toEqual([...cells].sort((a, b) => a - b).map((c) => [c, Math.floor(c / BLOCK_CELLS)]));
  });

  it('keeps grid cells as 4-byte integers, and narrows the bigint cells of an earlier layout value for value', async () => {
    await loadTwoDays();
    const cellTypes = () =>
      wh.query<{ tbl: string; type: string }>(
        "select c.table_name as tbl, c.data_type as type from information_schema.columns c join pg_class k on k.relname = c.table_name and k.relnamespace = cast('trips' as regnamespace) where c.table_schema = 'trips' and c.column_name like '%\\_cell\\__' and not k.relispartition group by 1, 2 order by 1, 2",
      );
    const tables = ['agg_weekly_dest_cell', 'agg_weekly_origin_cell', 'dim_trip_group', 'fact_trips'];
    expect(await cellTypes()).toEqual(tables.map((tbl) => ({ tbl, type: 'integer' })));
    const snapshot = async () => ({ facts: await wh.query('select * from trips.fact_trips order by trip_id'), cells: await wh.query('select * from trips.agg_weekly_origin_cell order by 1, 2, 3') });
    const before = await snapshot();
    for (const { tbl } of await cellTypes()) {
      const cols = (await wh.query<{ col: string }>("select column_name as col from information_schema.columns where table_schema = 'trips' and table_name = $1 and column_name like '%\\_cell\\__'", [tbl])).map((r) => r.col);
      await wh.query(`alter table trips.${tbl} ${cols.map((col) => `alter column ${col} type bigint`).join(', ')}`);
    }
    expect(await cellTypes()).toEqual(tables.map((tbl) => ({ tbl, type: 'bigint' })));
    await wh.ensureSchema();
    expect(await cellTypes()).toEqual(tables.map((tbl) => ({ tbl, type: 'integer' })));
    expect(await snapshot()).toEqual(before);
    await loadsGoOnExactly();
  });

  it('keeps md5 keys as uuid, and turns the char(32) keys of an earlier layout into uuid value for value', async () => {
    await lake('fact_trips', '2018-06-03', trips([3, 4, 11], true));
    await lake('fact_trips', '2018-06-10', trips([1, 2, 3], true));
    await load(fact, '2018-06-03');
    await load(fact, '2018-06-10');
    const keyTypes = () =>
      wh.query<{ type: string; n: number }>(
        "select data_type as type, count(*)::int as n from information_schema.columns where table_schema = 'trips' and (column_name like '%\\_key' or column_name = 'trip_id') and column_name not in ('date_key', 'time_of_day_key') group by data_type order by data_type",
      );
    expect(await keyTypes()).toEqual([{ type: 'uuid', n: expect.any(Number) }]);
    // The same 32 hex digits as the lake wrote them.
    expect((await wh.query<{ k: string }>("select replace(cast(trip_id as text), '-', '') as k from trips.fact_trips order by 1")).map((r) => r.k)).toEqual([1, 2, 3, 4, 11].map(key));
    const snapshot = async () => ({
      facts: await wh.query('select * from trips.fact_trips order by trip_id'),
      redeliveries: await redeliveries(),
      groups: await wh.query('select * from trips.agg_trip_group order by trip_group_key'),
    });
    const before = await snapshot();
    // The earlier layout: every key column char(32), in the tables, the aggregates and the deliveries.
    const columns = await wh.query<{ tbl: string; col: string }>(
      "select c.table_name as tbl, c.column_name as col from information_schema.columns c join pg_class k on k.relname = c.table_name and k.relnamespace = cast('trips' as regnamespace) where c.table_schema = 'trips' and c.data_type = 'uuid' and not k.relispartition",
    );
    for (const { tbl, col } of columns) await wh.query(`alter table trips.${tbl} alter column ${col} type char(32) using replace(cast(${col} as text), '-', '')`);
    expect((await keyTypes()).map((r) => r.type)).toEqual(['character']);
    await wh.ensureSchema();
    expect(await keyTypes()).toEqual([{ type: 'uuid', n: expect.any(Number) }]);
    expect(await snapshot()).toEqual(before);
    // And loads go on from there exactly.
    await lake('fact_trips', '2018-06-03', trips([4, 12], true));
    await load(fact, '2018-06-03');
    expect((await factRows()).sort()).toEqual(['2018-06-03:004', '2018-06-03:00c', '2018-06-10:001', '2018-06-10:002', '2018-06-10:003'].sort());
    await agree();
  });

  it('keeps a question prepared on its connection under the name its text gives, asked again with other values, and answers each as asked afresh', async () => {
    await loadTwoDays();
    // Trips start at (14.4, 50.0) and end at (14.5, 50.1): the first box holds both ends, the
    // second only the origin, the third neither.
    const boxes = [
      { minLon: 14.35, minLat: 49.95, maxLon: 14.55, maxLat: 50.15 },
      { minLon: 14.35, minLat: 49.95, maxLon: 14.45, maxLat: 50.05 },
      { minLon: 15, minLat: 51, maxLon: 15.1, maxLat: 51.1 },
    ];
    const asked = (box: (typeof boxes)[number]) => weeklyByBox(box, 'both', 0.01, '2018-05-28', '2018-06-18');
    const total = (rows: Array<{ trips: string | number }>) => rows.reduce((n, r) => n + Number(r.trips), 0);
    const answers: number[] = [];
    for (let run = 0; run < 7; run++) for (const box of boxes) answers.push(total(await q(wh, asked(box))));
    // Each box's answer the same in every run, as the statement unprepared gives it: the six trips
    // of the two days (trip 3, 4 and 5 delivered on both) in the first box.
    const fresh: number[] = [];
    for (const box of boxes) fresh.push(total(await wh.query(asked(box).text, asked(box).params)));
    expect(fresh).toEqual([6, 0, 0]);
    expect(answers).toEqual(Array.from({ length: 7 }, () => fresh).flat());
    // One prepared statement for the three boxes' 21 asks; the unprepared asks left none.
    const prepared = await wh.query<{ name: string; runs: number }>('select name, generic_plans + custom_plans as runs from pg_prepared_statements');
    expect(prepared).toEqual([{ name: preparedName(asked(boxes[0]).text), runs: 21 }]);
  });

  it('answers the largest groups as sorting every group would, from the large groups alone or, when they are fewer than asked for, from all', async () => {
    // The aggregate of the layouts before: no region, the large groups' trips in an indexed column
    // (`large_trips`), and, from the one before that, an index of every group by size.
    await wh.query('alter table trips.agg_trip_group drop column size_class, drop column region_key, add column large_trips bigint, set (fillfactor = 100)');
    await wh.query('create index agg_trip_group_large_trips_idx on trips.agg_trip_group (large_trips desc, trip_group_key) where large_trips is not null');
    await wh.query('create index agg_trip_group_trips_trip_group_key_idx on trips.agg_trip_group (trips desc, trip_group_key)');
    await wh.query(`insert into trips.dim_region (region_key, name) values ('${key(1)}', 'Prague'), ('${key(2)}', 'Turin')`);
    // Group i (in Prague if i is a multiple of 3) has i trips, or 40 if i is a multiple of 7: ties
    // at 40, and large groups (32 trips or more) among both the small and the large i.
    const group = (i: string) => `cast(lpad(to_hex(5000 + ${i}), 32, '0') as uuid)`;
    const regionOf = (i: string) => `case when ${i} % 3 = 0 then cast('${key(1)}' as uuid) else cast('${key(2)}' as uuid) end`;
    await wh.query(`insert into trips.dim_trip_group select ${group('i')}, ${regionOf('i')}, i, i, i + 1, i + 1, i % 24, 0.01, 60 from generate_series(1, 60) i`);
    await wh.query(`insert into trips.agg_trip_group (trip_group_key, trips, large_trips) select ${group('i')}, t, case when t >= 32 then t end from (select i, case when i % 7 = 0 then 40 else i end as t from generate_series(1, 60) i) x`);
    // The upgrade: the indexes and the trips column go, the size class comes, filled for the large
    // groups: floor(4 · log2(trips)), several sizes to a class (20 for 32 to 38 trips, 21 for 39 to
    // 45), and so does their region, from the trip groups' dimension.
    await wh.ensureSchema();
    expect((await wh.query<{ name: string }>("select indexname as name from pg_indexes where tablename = 'agg_trip_group' order by 1")).map((r) => r.name)).toEqual(['agg_trip_group_pkey', 'agg_trip_group_region_key_size_class_idx', 'agg_trip_group_size_class_idx']);
    expect(await wh.query("select count(*) as n from information_schema.columns where table_name = 'agg_trip_group' and column_name = 'region_key'")).toEqual([{ n: 1 }]);
    expect(await wh.query("select count(*) as n from information_schema.columns where table_name = 'agg_trip_group' and column_name = 'large_trips'")).toEqual([{ n: 0 }]);
    const classes = await wh.query<{ trips: number; size_class: number | null; region: string | null; dim_region: string }>(
      'select a.trips, a.size_class, cast(a.region_key as text) as region, cast(g.region_key as text) as dim_region from trips.agg_trip_group a join trips.dim_trip_group g using (trip_group_key)',
    );
    expect(classes).toHaveLength(60);
    for (const r of classes) {
      const large = r.trips >= 32;
      expect({ trips: r.trips, size_class: r.size_class, region: r.region }).toEqual({ trips: r.trips, size_class: large ? Math.floor(4 * Math.log2(r.trips)) : null, region: large ? r.dim_region : null });
    }
    expect(classes.filter((r) => r.size_class !== null)).toHaveLength(33);
    expect(new Set(classes.map((r) => r.size_class)).size).toBeLessThan(new Set(classes.filter((r) => r.trips >= 32).map((r) => r.trips)).size);
    expect((await wh.query<{ options: string[] }>("select reloptions as options from pg_class where relname = 'agg_trip_group'"))[0].options).toEqual(['fillfactor=70']);
    const sortingAll = (n: number, region: string) =>
      wh.query(
        `select r.name as region, g.time_bucket, g.bucket_minutes, round(cast((g.origin_cell_x + 0.5) * g.cell_size_deg as numeric), 4) as origin_lon, round(cast((g.origin_cell_y + 0.5) * g.cell_size_deg as numeric), 4) as origin_lat,
           round(cast((g.dest_cell_x + 0.5) * g.cell_size_deg as numeric), 4) as dest_lon, round(cast((g.dest_cell_y + 0.5) * g.cell_size_deg as numeric), 4) as dest_lat, a.trips
         from trips.agg_trip_group a join trips.dim_trip_group g on g.trip_group_key = a.trip_group_key join trips.dim_region r on r.region_key = g.region_key
         where $2 = '' or cast(g.region_key as text) = $2 order by a.trips desc, a.trip_group_key limit $1`,
        [n, region],
      );
    // Every region, Prague (20 groups, 11 large) and Turin (40 groups, 22 large); asked for fewer,
    // as many and more than the large groups or all groups.
    const regions = await wh.query<{ key: string; groups: number }>('select cast(r.region_key as text) as key, count(*) as groups from trips.dim_region r join trips.dim_trip_group g using (region_key) group by 1, r.name order by r.name');
    expect(regions.map((r) => r.groups)).toEqual([20, 40]);
    for (const { key: region, groups } of [{ key: '', groups: 60 }, ...regions]) {
      for (const n of [1, 2, 5, 10, 11, 22, 33, 100]) {
        const expected = await sortingAll(n, region);
        expect(expected).toHaveLength(Math.min(n, groups));
        // Reading the large groups in class order: as many as asked for (the picks often share the
        // lowest class read: every group of that class is then read), a few more, and the default.
        for (const read of [n, n + 1, n + 4, undefined]) {
          expect({ n, region, read, rows: await q(wh, largestGroups(n, region || undefined, read)) }).toEqual({ n, region, read, rows: expected });
        }
      }
    }
  });

  it('keeps a trip group\'s region while it is large: from the day that makes it large, even by fewer trips than that, gone when it shrinks', async () => {
    // Trips 3, 6, 9, … are all of group 3000, in region 1000; trip i on 2018-05-28 09:00 + i minutes.
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, k) => 3 * (from + k));
    const group = () =>
      wh.query<{ trips: number; size_class: number | null; region: string | null }>(`select trips, size_class, cast(region_key as text) as region from trips.agg_trip_group where trip_group_key = '${key(3000)}'`);
    const region = uuid(1000);
    await wh.query(`insert into trips.dim_trip_group values ('${key(3000)}', '${key(1000)}', 1440, 5000, 1450, 5010, 9, 0.01, 60)`);
    // 30 trips: small, no region; 5 more on another day: large, the region the day's trips carry
    // (not the dimension's: it has no row for the group by then).
    await lake('fact_trips', '2018-06-03', trips(ids(1, 30)));
    await load(fact, '2018-06-03');
    expect(await group()).toEqual([{ trips: 30, size_class: null, region: null }]);
    await wh.query(`delete from trips.dim_trip_group where trip_group_key = '${key(3000)}'`);
    await lake('fact_trips', '2018-06-10', trips(ids(31, 5)));
    await load(fact, '2018-06-10');
    expect(await group()).toEqual([{ trips: 35, size_class: 20, region }]);
    await agree();
    // A rerun leaves it 31 trips: small again, its region gone; then large by a day of 40 alone.
    await lake('fact_trips', '2018-06-10', trips(ids(31, 1)));
    await load(fact, '2018-06-10');
    expect(await group()).toEqual([{ trips: 31, size_class: null, region: null }]);
    await agree();
    // Large by the day's trips alone.
    await lake('fact_trips', '2018-06-17', trips(ids(100, 40)));
    await load(fact, '2018-06-17');
    expect(await group()).toEqual([{ trips: 71, size_class: 24, region }]);
    await agree();
    // The region's own large groups answer the question (the answer describes the group from the dimensions).
    await wh.query(`insert into trips.dim_trip_group values ('${key(3000)}', '${key(1000)}', 1440, 5000, 1450, 5010, 9, 0.01, 60)`);
    await wh.query(`insert into trips.dim_region (region_key, name) values ('${key(1000)}', 'Prague'), ('${key(1001)}', 'Turin')`);
    expect((await q<{ trips: number }>(wh, largestGroups(1, region))).map((r) => Number(r.trips))).toEqual([71]);
    expect(await q(wh, largestGroups(1, uuid(1001)))).toEqual([]);
  });

  it('gives the large trip groups of a warehouse that predates it their region, from the dimension, or stops naming the fix', async () => {
    await loadTwoDays();
    const indexes = async () => (await wh.query<{ name: string }>("select indexname as name from pg_indexes where tablename = 'agg_trip_group' order by 1")).map((r) => r.name);
    const column = () => wh.query("select count(*) as n from information_schema.columns where table_name = 'agg_trip_group' and column_name = 'region_key'");
    // The layout before: no region in the trip groups' aggregate (dropping it drops its index); one
    // of its groups large, and the dimension without it.
    await wh.query('alter table trips.agg_trip_group drop column region_key');
    expect(await indexes()).toEqual(['agg_trip_group_pkey', 'agg_trip_group_size_class_idx']);
    await wh.query(`update trips.agg_trip_group set trips = 40, size_class = 21 where trip_group_key = '${key(3001)}'`);
    await expect(wh.ensureSchema()).rejects.toThrow(/upgrading trips\.agg_trip_group: 1 of its large groups have no row in trips\.dim_trip_group to take region_key from; rerun the days whose facts hold them/);
    expect(await column()).toEqual([{ n: 0 }]);
    await wh.query(`insert into trips.dim_trip_group values ('${key(3001)}', '${key(1001)}', 1440, 5000, 1450, 5010, 9, 0.01, 60)`);
    await wh.ensureSchema();
    expect(await indexes()).toEqual(['agg_trip_group_pkey', 'agg_trip_group_region_key_size_class_idx', 'agg_trip_group_size_class_idx']);
    expect(await wh.query('select cast(trip_group_key as text) as g, cast(region_key as text) as r from trips.agg_trip_group where region_key is not null')).toEqual([
      { g: uuid(3001), r: uuid(1001) },
    ]);
  });

  /** Each day's trip filter: its trips and span, and whether it holds each of trips 1-30 (the tests' keys). */
  const dayFilters = async () => {
    const rows = await wh.query<{ ds: string; trips: number; lo: string | null; hi: string | null; bits: Buffer }>(
      "select to_char(ds, 'YYYY-MM-DD') as ds, trips, cast(lo as text) as lo, cast(hi as text) as hi, bits from trips.trip_day_filter order by ds",
    );
    return rows.map((r) => {
      const f = new TripFilter(r.bits);
      return { ds: r.ds, trips: r.trips, lo: r.lo, hi: r.hi, holds: Array.from({ length: 30 }, (_, i) => i + 1).filter((i) => f.has(...keyWords(key(i)))) };
    });
  };
  /** A warehouse that logs what the loads ask the day filters. */
  const asking = async () => {
    const asked: Array<{ candidates: number; days: number; spanTrips?: number; probe?: false }> = [];
    const logger = {
      info: (o: unknown, msg?: string) => {
        if (!msg?.includes('another day may hold')) return;
        const { candidates, days, spanTrips, probe } = o as { candidates: number; days: number; spanTrips: number; probe: boolean };
        // Each names how it reads them: probed one by one, or matched (the loads of the test that matches the span).
        expect(msg).toContain(probe ? 'read one by one' : `read by matching the ${spanTrips} fact(s) of those days`);
        expect(probe).toBe(probes(candidates, spanTrips));
        asked.push(probe ? { candidates, days } : { candidates, days, spanTrips, probe });
      },
    } as unknown as Logger;
    await wh.close();
    wh = new PostgresWarehouse(pg.url, store, work, logger);
    return asked;
  };

  it("keeps a filter of each day's latest batch, and finds a trip another day holds through it, moved there by a rerun too", async () => {
    const asked = await asking();
    await lake('fact_trips', '2018-06-03', trips([3, 4, 5, 11], true));
    await lake('fact_trips', '2018-06-10', trips([1, 2, 3, 4, 5], true));
    await lake('fact_trips', '2018-06-20', trips([20], true));
    await load(fact, '2018-06-03');
    await load(fact, '2018-06-10');
    await load(fact, '2018-06-20');
    // Trip i is at 2018-05-28 09:00 plus i days.
    expect(await dayFilters()).toEqual([
      { ds: '2018-06-03', trips: 4, lo: '2018-05-31 09:00:00', hi: '2018-06-08 09:00:00', holds: [3, 4, 5, 11] },
      { ds: '2018-06-10', trips: 5, lo: '2018-05-29 09:00:00', hi: '2018-06-02 09:00:00', holds: [1, 2, 3, 4, 5] },
      { ds: '2018-06-20', trips: 1, lo: '2018-06-17 09:00:00', hi: '2018-06-17 09:00:00', holds: [20] },
    ]);
    // Asked: nothing on the first load; the first day's filter, which holds 3, 4 and 5, on the second;
    // no filter on the third, whose trip lies outside both days' spans.
    expect(asked).toEqual([
      { candidates: 0, days: 0 },
      { candidates: 3, days: 1 },
      { candidates: 0, days: 0 },
    ]);
    // A rerun of the first day without 3 to 5: they move to the day after, which delivered them. A
    // later day delivering 4 finds it there, through that day's filter.
    await lake('fact_trips', '2018-06-03', trips([11], true));
    await load(fact, '2018-06-03');
    await lake('fact_trips', '2018-06-12', trips([4, 21], true));
    expect(await load(fact, '2018-06-12')).toMatchObject({ staged: 2, inserted: 1, skipped: 1 });
    expect((await factRows()).filter((r) => ['003', '004', '005'].includes(r.slice(-3)))).toEqual(['2018-06-10:003', '2018-06-10:004', '2018-06-10:005']);
    expect(asked.slice(3)).toEqual([
      { candidates: 3, days: 1 }, // the rerun's own earlier trips (3, 4, 5) the other day holds
      { candidates: 1, days: 3 }, // 4 by the day holding it; the other days' spans meet the load's, not its trips'
    ]);
    await agree();
  });

  it('makes the filters a warehouse older than them lacks at its next load, and loads on exactly when a filter says yes to every trip', async () => {
    await loadTwoDays();
    await wh.query('delete from trips.trip_day_filter');
    const asked = await asking();
    await lake('fact_trips', '2018-06-12', trips([2, 5, 21], true));
    expect(await load(fact, '2018-06-12')).toMatchObject({ staged: 3, inserted: 1, skipped: 2 });
    expect((await dayFilters()).map((f) => [f.ds, f.trips, f.holds])).toEqual([
      ['2018-06-03', 4, [3, 4, 5, 11]],
      ['2018-06-10', 5, [1, 2, 3, 4, 5]], // its own trips (1, 2) and those the first day owns (3, 4, 5)
      ['2018-06-12', 3, [2, 5, 21]],
    ]);
    expect(asked).toEqual([{ candidates: 3, days: 2 }]); // 2 by the second day, 5 by both
    // Filters full of ones: every trip in a day's span is a candidate of that day, and the load as exact.
    await wh.query("update trips.trip_day_filter set bits = decode(repeat('ff', length(bits)), 'hex')");
    await lake('fact_trips', '2018-06-03', trips([5, 12], true));
    await load(fact, '2018-06-03');
    expect((await factRows()).sort()).toEqual(['2018-06-03:005', '2018-06-03:00c', '2018-06-10:001', '2018-06-10:002', '2018-06-10:003', '2018-06-10:004', '2018-06-12:015'].sort());
    await agree();
    // Its trips 5 and 12, and 3, 4 and 11 it delivered before: 3, 4 and 5 in the second day's span, all five in the third's.
    expect(asked[1]).toEqual({ candidates: 8, days: 2 });
  });

  it("matches the span's facts instead of reading each one when the filters name more trips than that costs, as exactly", async () => {
    const asked = await asking();
    const day1 = Array.from({ length: 1500 }, (_, i) => i + 1); // a minute apart, from 2018-05-28 09:01
    await lake('fact_trips', '2018-06-03', trips(day1));
    await load(fact, '2018-06-03');
    // A day delivering the first day's trips again, and two of its own: 1,500 candidates against the
    // 1,500 facts of the one day whose span meets theirs, so the load matches those.
    await lake('fact_trips', '2018-06-04', trips([...day1, 1501, 1502]));
    expect(await load(fact, '2018-06-04')).toMatchObject({ staged: 1502, inserted: 2, skipped: 1500 });
    // Its rerun delivering half of them (1502 is written again, into the day's new partition; 1501 goes):
    // the 1,500 it delivered before are touched too, so the load matches again.
    await lake('fact_trips', '2018-06-04', trips([...day1.slice(0, 750), 1502]));
    expect(await load(fact, '2018-06-04')).toMatchObject({ staged: 751, inserted: 1, skipped: 750 });
    expect(asked.slice(0, 3)).toEqual([
      { candidates: 0, days: 0 },
      { candidates: 1500, days: 1, spanTrips: 1500, probe: false },
      { candidates: 1500, days: 1, spanTrips: 1500, probe: false },
    ]);
    /** The trips each day holds. */
    const held = () => wh.query<{ ds: string; n: number }>("select to_char(ds, 'YYYY-MM-DD') as ds, cast(count(*) as integer) as n from trips.fact_trips group by ds order by ds");
    expect(await held()).toEqual([
      { ds: '2018-06-03', n: 1500 },
      { ds: '2018-06-04', n: 1 },
    ]);
    expect(await wh.query("select count(*)::int as n from trips.trip_redelivery where ds = date '2018-06-04'")).toEqual([{ n: 750 }]);
    // A rerun of the first day without its trips: the second day owns those it redelivers, and the
    // load, probing the 750 candidates of the second day's filter, moves them there.
    await lake('fact_trips', '2018-06-03', trips([1501]));
    await load(fact, '2018-06-03');
    expect(asked.slice(3)).toEqual([{ candidates: 750, days: 1 }]);
    expect((await factRows()).length).toBe(752);
    expect(await held()).toEqual([
      { ds: '2018-06-03', n: 1 },
      { ds: '2018-06-04', n: 751 },
    ]);
    await agree();
  });

  it('keeps every aggregate equal to a full recomputation through reruns, out-of-order days and cross-batch duplicates', async () => {
    await lake('fact_trips', '2018-06-10', trips([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], true));
    await lake('fact_trips', '2018-06-03', trips([8, 9, 10, 11, 12, 20], true));
    await load(fact, '2018-06-10');
    await agree();
    await load(fact, '2018-06-03');
    await agree();
    await load(fact, '2018-06-10');
    await agree();
    // The day shrinks on a rerun: weeks and groups it no longer touches must drop to what remains.
    await lake('fact_trips', '2018-06-10', trips([1], true));
    await load(fact, '2018-06-10');
    await agree();
    const weeks = await wh.query<{ n: string }>('select count(distinct week_start_date) as n from trips.agg_weekly_region');
    expect(Number(weeks[0].n)).toBeGreaterThan(1);
  });

  it('computes an aggregate new to a warehouse that holds facts from them, and leaves one that holds rows as it is', async () => {
    await lake('fact_trips', '2018-06-10', trips([1, 2, 3, 4, 5], true));
    await load(fact, '2018-06-10');
    // Every aggregate emptied, as a warehouse from before it would have it, but one, changed by hand.
    for (const a of AGGREGATES) await wh.query(`truncate trips.${a.name}`);
    const kept = AGGREGATES[0];
    const bogus = await wh.query<{ n: number }>(`insert into trips.${kept.name} (${[...kept.groupBy.map((g) => g.column), ...aggregateValueColumns(kept)].join(', ')}) select * from (${aggregateFromScratch(kept)}) s limit 1 returning 1 as n`);
    expect(bogus).toHaveLength(1);
    await wh.ensureSchema();
    for (const a of AGGREGATES.slice(1)) {
      const [{ n }] = await wh.query<{ n: string }>(`select count(*) as n from trips.${a.name}`);
      expect({ aggregate: a.name, empty: Number(n) === 0 }).toEqual({ aggregate: a.name, empty: false });
    }
    const [{ n }] = await wh.query<{ n: string }>(`select count(*) as n from trips.${kept.name}`);
    expect(Number(n)).toBe(1);
    // Filled whole: the one left alone filled again too, the warehouse agrees with its facts.
    await wh.query(`truncate trips.${kept.name}`);
    await wh.ensureSchema();
    await agree();
  });

  it('holds exactly the distinct trips of each day\'s latest batch, and aggregates equal to a recomputation, after any sequence of loads (property test)', async () => {
    // A seeded random walk over four days and 24 trips: new batches, reruns with subsets and
    // supersets of the previous batch, empty batches, and trips shared between days.
    const seed = 20181001;
    let state = seed;
    // mulberry32: small, and its low bits are as random as its high ones.
    const rnd = (n: number) => {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), 1 | state);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    let shared = 0;
    let shrunk = 0;
    const days = ['2018-06-04', '2018-06-05', '2018-06-11', '2018-06-12'];
    const model = new Map<string, Set<number>>();
    const expected = () => {
      const owner = new Map<number, string>();
      for (const [ds, ids] of [...model.entries()].sort()) for (const i of ids) if (!owner.has(i)) owner.set(i, ds);
      return [...owner.entries()].map(([i, ds]) => `${ds}:${key(i).slice(-3)}`).sort();
    };
    for (let step = 0; step < 30; step++) {
      const ds = days[rnd(days.length)];
      const before = model.get(ds) ?? new Set<number>();
      const kind = rnd(4);
      let ids: Set<number>;
      if (kind === 0) ids = new Set([...before].filter(() => rnd(2) === 0)); // a subset of the last batch
      else if (kind === 1) ids = new Set([...before, ...Array.from({ length: 1 + rnd(5) }, () => 1 + rnd(24))]); // a superset
      else if (kind === 2 && step % 7 === 3) ids = new Set(); // an empty batch
      else ids = new Set(Array.from({ length: 1 + rnd(10) }, () => 1 + rnd(24))); // a new batch
      if ([...before].some((i) => !ids.has(i))) shrunk++;
      model.set(ds, ids);
      if ([...model.entries()].some(([d, other]) => d !== ds && [...ids].some((i) => other.has(i)))) shared++;
      const rows = [...ids].sort((a, b) => a - b);
      if (rows.length > 0) await lake('fact_trips', ds, trips(rows, true));
      else await store.deletePrefix('lake', partition(buckets, 'fact_trips', ds).prefix);
      await load(fact, ds);
      expect({ seed, step, ds, facts: (await factRows()).sort() }).toEqual({ seed, step, ds, facts: expected() });
      // The redelivery record: every delivery of the latest batches but the owner's.
      const owners = new Map(expected().map((r) => [r.slice(11), r.slice(0, 10)]));
      const redelivered = [...model.entries()].flatMap(([d, ids]) => [...ids].map((i) => `${d}:${key(i).slice(-3)}`)).filter((r) => owners.get(r.slice(11)) !== r.slice(0, 10));
      const recorded = (await wh.query<{ r: string }>("select to_char(ds, 'YYYY-MM-DD') || ':' || right(replace(cast(trip_id as text), '-', ''), 3) as r from trips.trip_redelivery")).map((x) => x.r);
      expect({ seed, step, redeliveries: recorded.sort() }).toEqual({ seed, step, redeliveries: redelivered.sort() });
      await agree();
    }
    // The walk did reach the cases that matter: trips shared between days, and reruns dropping trips.
    expect(shared).toBeGreaterThan(5);
    expect(shrunk).toBeGreaterThan(5);
  });
});
