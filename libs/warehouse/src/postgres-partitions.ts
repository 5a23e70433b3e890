import type { Client } from 'pg';
import { ConfigError } from '@trips/core';
import { CATALOG, warehouseTables, type TableDef } from '@trips/pipeline';
import { dayOfPartition, dayPartitionName, DELIVERY_COLUMNS, redeliveryDdl, tableDdl, type LoadStep } from './ddl';
import { AGGREGATE_FILLFACTOR, AGGREGATES, factTable, LARGE_GROUP_TRIPS, sizeClass, withinDimension } from './aggregates';
import { WAREHOUSE_SCHEMA } from './port';
import { indexName, sqlType } from './types';

const S = WAREHOUSE_SCHEMA;

/** The table a load of a day-partitioned table stages its rows in: the day's partition to be. */
export function stagedPartitionName(table: string, ds: string): string {
  return `${dayPartitionName(table, ds)}_staged`;
}

/**
 * Creates the table a load of day `ds` stages its rows in, in the caller's transaction: a table
 * like the day-partitioned parent (`ds` filled in), which the load turns into the day's partition
 * (swapDayPartition). Filled in the transaction that creates it, it can be filled with COPY FREEZE:
 * no WAL (wal_level=minimal), rows frozen and pages marked all-visible as they are written, so no
 * vacuum has to visit them again to freeze them. It has the check its partition bound implies from
 * the start: attaching it then skips reading the rows to prove the bound, and adding the check to
 * the filled table read them instead (0.2 s for a million rows). The load commits it before its own
 * transaction, so that a second connection can build its indexes meanwhile (stagedIndexes): one a
 * load of the same day left behind (a killed process) goes first. The caller holds the day's lock
 * (dayLoadLock). Returns its qualified name.
 */
export async function createStagedPartition(c: Client, table: string, ds: string): Promise<string> {
  const staged = `${S}.${stagedPartitionName(table, ds)}`;
  await c.query(`drop table if exists ${staged}`);
  await c.query(`create table ${staged} (like ${S}.${table}, constraint ${dayPartitionName(table, ds)}_ds check (ds = date '${ds}'))`);
  await c.query(`alter table ${staged} alter column ds set default date '${ds}'`);
  return staged;
}

/**
 * The session lock a load of day `ds` of `table` holds from staging to the end (pg_advisory_lock's
 * two-key form; ensureSchema's lock is of the one-key form): a second load of the same day waits
 * for it rather than dropping the first one's staged table. Loads of other days go on beside it.
 */
export function dayLoadLock(table: string, ds: string): { lock: string; tryLock: string; unlock: string; params: string[] } {
  return {
    lock: 'select pg_advisory_lock(7473, hashtext($1))',
    tryLock: 'select pg_try_advisory_lock(7473, hashtext($1)) as locked',
    unlock: 'select pg_advisory_unlock(7473, hashtext($1))',
    params: [`${S}.${dayPartitionName(table, ds)}`],
  };
}

/**
 * Drops the staged tables of `table` that loads killed part-way left behind, whatever their day: a
 * table whose day's lock (dayLoadLock) is free has no load that still runs, and one whose lock is
 * held stays for its load. Each table is dropped holding its day's lock, so that a load of that day
 * starting meanwhile waits rather than staging into it. Returns the names dropped.
 */
export async function dropStaleStagedTables(c: Client, table: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relkind = 'r' and c.relname ~ $2 order by 1`,
    [S, `^${table}_d[0-9]{8}_staged$`],
  );
  const dropped: string[] = [];
  for (const { name } of rows) {
    const ds = dayOfPartition(table, name.slice(0, -'_staged'.length));
    if (ds === undefined) continue;
    // A session lock is taken again by the session holding it: the caller's own day's table goes too
    // (createStagedPartition would drop it anyway), and the caller keeps its lock after the unlock.
    const lock = dayLoadLock(table, ds);
    const [{ locked }] = (await c.query<{ locked: boolean }>(lock.tryLock, lock.params)).rows;
    if (!locked) continue;
    try {
      await c.query(`drop table if exists ${S}.${name}`);
      dropped.push(name);
    } finally {
      await c.query(lock.unlock, lock.params);
    }
  }
  return dropped;
}

/** The staged table's copies of the parent's indexes: each one's CREATE INDEX, and the name it then takes in the day's partition. */
export interface StagedIndex {
  create: string;
  staged: string;
  final: string;
}

/**
 * The parent's indexes named as the catalog names them (`<table>_…`), to be built on the staged
 * table of day `ds` before it is attached, under the names attaching would give them
 * (`<partition>_…`, after swapDayPartition renames them). Attaching a table that has an index
 * matching one of the parent's takes it as that index's partition instead of building another, so
 * these are built on a connection of their own while the load's transaction runs its other steps
 * (the aggregates' upserts use one core, the builds the other). An index of the parent named
 * otherwise (made by hand) is left for attaching to build.
 */
export async function stagedIndexes(c: Client, table: string, ds: string): Promise<StagedIndex[]> {
  const parent = await c.query<{ name: string; def: string }>(
    'select i.relname as name, pg_get_indexdef(x.indexrelid) as def from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = cast($1 as regclass) order by i.relname',
    [`${S}.${table}`],
  );
  const staged = stagedPartitionName(table, ds);
  const part = dayPartitionName(table, ds);
  const MAX_NAME = 63; // PostgreSQL's identifiers: longer names are cut short
  return parent.rows.flatMap(({ name, def }) => {
    const using = def.indexOf(' USING ');
    if (!name.startsWith(`${table}_`) || using < 0) return [];
    const suffix = name.slice(table.length + 1);
    const [from, to] = [`${staged}_${suffix}`, `${part}_${suffix}`];
    if (from.length > MAX_NAME) return [];
    return [{ create: `create ${/^CREATE UNIQUE /.test(def) ? 'unique ' : ''}index ${from} on ${S}.${staged}${def.slice(using)}`, staged: from, final: to }];
  });
}

/**
 * Turns the staged table of day `ds` (createStagedPartition) into the day's partition, swapped in
 * for the partition the day had, in the caller's transaction: `remove` (`$1` is the ds) first
 * deletes the staged rows the day does not keep, once `indexes` are built (stagedIndexes; attaching
 * builds any other of the parent's, in one sorted pass each, far cheaper than inserting a batch
 * into live B-trees). Every row of the day's old partition must go by then (for the facts: the load
 * has moved out the trips another day now owns, and `goes` says which rows it takes out): checked,
 * then the old partition is dropped whole. Attaching locks the parent against other loads only;
 * detaching a rerun's old partition locks its readers out until the load commits. Returns the rows
 * the new partition holds and those the old one held.
 */
export async function swapDayPartition(
  c: Client,
  spec: NonNullable<LoadStep['dayPartition']>,
  ds: string,
  remove: string,
  stagedRows: number,
  indexes: { built: Promise<unknown>; names: ReadonlyArray<Pick<StagedIndex, 'staged' | 'final'>> } = { built: Promise.resolve(), names: [] },
): Promise<{ inserted: number; deleted: number }> {
  const name = dayPartitionName(spec.table, ds);
  const part = `${S}.${name}`;
  const parent = `${S}.${spec.table}`;
  const staged = `${S}.${stagedPartitionName(spec.table, ds)}`;
  let deleted = 0;
  if ((await relkind(c, name)) !== undefined) {
    if (spec.goes) {
      const [held] = (await c.query<{ n: string; going: string }>(`select count(*) as n, count(*) filter (where ${spec.goes}) as going from ${part} f left join trip_owner o on o.trip_id = f.trip_id`, [ds])).rows;
      if (held.n !== held.going) throw new Error(`${part} holds ${Number(held.n) - Number(held.going)} row(s) of trips this load does not take out: the warehouse disagrees with its delivery record (the facts and trip_redelivery)`);
      deleted = Number(held.n);
    }
    await c.query(`alter table ${parent} detach partition ${part}`);
    await c.query(`drop table ${part}`);
  }
  // The builds hold a lock on the staged table that its DELETE would wait for anyway.
  await indexes.built;
  const removed = (await c.query(remove, [ds])).rowCount ?? 0;
  await c.query(`alter table ${staged} rename to ${name}`);
  for (const i of indexes.names) await c.query(`alter index ${S}.${i.staged} rename to ${i.final}`);
  await c.query(`alter table ${part} alter column ds drop default`);
  // Its statistics are the staged table's (analyzed when staged, before a few rows at most went).
  await c.query(`alter table ${parent} attach partition ${part} for values in ('${ds}')`);
  return { inserted: stagedRows - removed, deleted };
}

/**
 * Moves a table created whole (by an earlier layout) into a day-partitioned table of the same name,
 * row for row: its old indexes, whose names the new table's take, are dropped first.
 */
async function partitionByDay(c: Client, table: string, create: string, columns: string[]): Promise<void> {
  if ((await relkind(c, table)) !== 'r') return; // absent, or partitioned already
  const old = `${table}_unpartitioned`;
  await c.query(`alter table ${S}.${table} rename to ${old}`);
  await dropPrimaryKey(c, old);
  const indexes = await c.query<{ name: string }>('select indexname as name from pg_indexes where schemaname = $1 and tablename = $2', [S, old]);
  for (const { name } of indexes.rows) await c.query(`drop index ${S}.${name}`);
  await c.query(create);
  const days = await c.query<{ ds: string }>(`select distinct to_char(ds, 'YYYY-MM-DD') as ds from ${S}.${old}`);
  for (const { ds } of days.rows) await c.query(`create table ${S}.${dayPartitionName(table, ds)} partition of ${S}.${table} for values in ('${ds}')`);
  await c.query(`insert into ${S}.${table} (${columns.join(', ')}) select ${columns.join(', ')} from ${S}.${old}`);
  await c.query(`drop table ${S}.${old}`);
}

async function dropPrimaryKey(c: Client, table: string): Promise<void> {
  const pk = await c.query<{ name: string }>(`select conname as name from pg_constraint where conrelid = cast($1 as regclass) and contype = 'p'`, [`${S}.${table}`]);
  for (const { name } of pk.rows) await c.query(`alter table ${S}.${table} drop constraint ${name}`);
}

/** Whether the warehouse's table `table` has the column `column`. */
async function hasColumn(c: Client, table: string, column: string): Promise<boolean> {
  return ((await c.query('select 1 from information_schema.columns where table_schema = $1 and table_name = $2 and column_name = $3', [S, table, column])).rowCount ?? 0) > 0;
}

async function relkind(c: Client, name: string): Promise<string | undefined> {
  const r = await c.query<{ relkind: string }>(
    'select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2',
    [S, name],
  );
  return r.rows[0]?.relkind;
}

/** The oldest PostgreSQL the local warehouse runs on: its loads' `MERGE` came with 15 (aggregates.ts). */
export const MIN_POSTGRES_VERSION = 15;

/**
 * Refuses a PostgreSQL server older than MIN_POSTGRES_VERSION (the one TRIPS_PG_URL names may not
 * be the embedded one), naming both versions, before anything is created or loaded: otherwise
 * the first load would fail on a syntax error near `MERGE`.
 */
export async function requirePostgresVersion(c: Pick<Client, 'query'>): Promise<void> {
  const { rows } = await c.query<{ num: string; version: string }>("select current_setting('server_version_num') as num, current_setting('server_version') as version");
  const major = Math.floor(Number(rows[0]?.num) / 10000);
  if (!(major >= MIN_POSTGRES_VERSION)) {
    throw new ConfigError(`the warehouse needs PostgreSQL ${MIN_POSTGRES_VERSION} or later (its loads use MERGE); the server TRIPS_PG_URL names runs ${rows[0]?.version ?? 'an unknown version'}`);
  }
}

/**
 * Brings a local warehouse made by an earlier layout up to this one, in the caller's transaction,
 * before schemaDdl runs (which then creates what is missing):
 * - md5 keys held as char(32) become uuid, value for value (md5KeysAsUuid), and columns held as
 *   bigint that the catalog now says are integer (the grid cells) become integer (narrowedToInteger);
 * - the facts, if the catalog partitions them by day but they were created whole, are moved row for
 *   row into a partitioned table of the same name;
 * - day-partitioned tables lose the primary key they had (ddl.ts, tableDdl);
 * - the trip groups' aggregate loses its index of every group by size and its large groups' trips,
 *   and gains their size class (largeGroupsColumn), and then the large groups' region (withinColumns);
 * - a delivery record of every delivery (trip_delivery, partitioned or whole, with or without the
 *   trips' timestamps) becomes the redelivery record: the deliveries but the owners', which the
 *   facts hold.
 */
export async function upgradePostgresSchema(c: Client, catalog: readonly TableDef[] = CATALOG): Promise<void> {
  const facts = factTable(catalog);
  await largeGroupsColumn(c);
  await md5KeysAsUuid(c, catalog);
  await narrowedToInteger(c, catalog);
  const partitioned = warehouseTables(catalog).filter((x) => x.warehouse.postgresDayPartitions);
  for (const t of partitioned) await partitionByDay(c, t.id, tableDdl(t, 'postgres'), [...t.columns.map((x) => x.name), 'ds']);
  // Day-partitioned tables no longer have a primary key (tableDdl says why): dropped on the parent,
  // it goes from every partition with its index.
  for (const t of partitioned) if ((await relkind(c, t.id)) === 'p') await dropPrimaryKey(c, t.id);
  await dropRetiredIndexes(c, catalog);
  await withinColumns(c);
  if ((await relkind(c, 'trip_delivery')) !== undefined) {
    const columns = await c.query<{ name: string }>('select column_name as name from information_schema.columns where table_schema = $1 and table_name = $2', [S, 'trip_delivery']);
    // The oldest record kept no timestamps: a delivered trip's fact row has its trip_ts.
    const ts = columns.rows.some((r) => r.name === 'trip_ts') ? 'd.trip_ts' : `(select f.trip_ts from ${S}.${facts.id} f where f.trip_id = d.trip_id limit 1)`;
    await c.query(redeliveryDdl('postgres', catalog));
    await c.query(
      `insert into ${S}.trip_redelivery (${DELIVERY_COLUMNS.join(', ')}) select d.ds, d.trip_id, ${ts} from ${S}.trip_delivery d where not exists (select 1 from ${S}.${facts.id} f where f.trip_id = d.trip_id and f.ds = d.ds) on conflict do nothing`,
    );
    await c.query(`drop table ${S}.trip_delivery`);
  }
}

/**
 * Aggregates of an earlier layout: the index of every trip group by size goes (the largest groups
 * read the large groups' partial index, aggregates.ts), and so do the large groups' trips
 * (`large_trips`, indexed: an update changing them could not stay on its page) for their size class
 * (`size_class`), added and filled; pages keep room for updates (pages written from now on: VACUUM
 * FULL repacks the others).
 */
async function largeGroupsColumn(c: Client): Promise<void> {
  await c.query(`drop index if exists ${S}.agg_trip_group_trips_trip_group_key_idx`);
  for (const a of AGGREGATES) {
    if ((await relkind(c, a.name)) !== 'r') continue;
    const fillfactor = `fillfactor=${AGGREGATE_FILLFACTOR}`;
    const options = await c.query('select 1 from pg_class where oid = cast($1 as regclass) and $2 = any(coalesce(reloptions, array[]::text[]))', [`${S}.${a.name}`, fillfactor]);
    if (!options.rowCount) await c.query(`alter table ${S}.${a.name} set (${fillfactor})`);
    if (!a.large) continue;
    // Dropping the column drops its index.
    if (await hasColumn(c, a.name, 'large_trips')) await c.query(`alter table ${S}.${a.name} drop column large_trips`);
    if (await hasColumn(c, a.name, 'size_class')) continue;
    await c.query(`alter table ${S}.${a.name} add column size_class integer`);
    await c.query(`update ${S}.${a.name} set size_class = ${sizeClass('trips')} where trips >= ${LARGE_GROUP_TRIPS}`);
  }
}

/**
 * Aggregates whose large groups are also ranked within a column (`within`, aggregates.ts: a trip
 * group's region) but that predate it: the column is added and filled for the large groups, from
 * the dimension keyed by the group (every load after keeps it). Its partial index comes with the
 * schema's DDL. Runs once the tables have their current layout (keys, partitions).
 */
async function withinColumns(c: Client): Promise<void> {
  for (const a of AGGREGATES) {
    const within = a.large?.within;
    if (!within?.of || (await relkind(c, a.name)) !== 'r' || (await hasColumn(c, a.name, within.column))) continue;
    const dim = withinDimension(a);
    await c.query(`alter table ${S}.${a.name} add column ${within.column} ${sqlType(within.of, 'postgres')}`);
    await c.query(`update ${S}.${a.name} a set ${within.column} = g.${within.column} from ${S}.${dim.table} g where g.${dim.key} = a.${a.groupBy[0].column} and a.size_class is not null`);
    const missing = await c.query(`select count(*) as n from ${S}.${a.name} where size_class is not null and ${within.column} is null`);
    const n = Number(missing.rows[0].n);
    if (n > 0) throw new Error(`upgrading ${S}.${a.name}: ${n} of its large groups have no row in ${S}.${dim.table} to take ${within.column} from; rerun the days whose facts hold them (a day's run loads the dimension before the facts)`);
  }
}

/**
 * The catalog's tables have the secondary indexes the catalog lists (postgresIndexes) and no others:
 * an index a catalog table has under the catalog's naming (`<table>_<columns>_idx`, postgresIndexDdl)
 * that the catalog no longer lists goes, from the table and, on a partitioned table, from every
 * partition. Each costs every load a B-tree build or every row's insert. Indexes backing a
 * constraint (a primary key) are not secondary, and are left alone.
 */
async function dropRetiredIndexes(c: Client, catalog: readonly TableDef[]): Promise<void> {
  for (const t of warehouseTables(catalog)) {
    const listed = new Set((t.warehouse.postgresIndexes ?? []).map((cols) => indexName(t.id, cols)));
    const found = await c.query<{ name: string }>(
      `select i.relname as name from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class k on k.oid = x.indrelid join pg_namespace n on n.oid = k.relnamespace
       where n.nspname = $1 and k.relname = $2 and not exists (select 1 from pg_constraint o where o.conindid = x.indexrelid)`,
      [S, t.id],
    );
    const column = `(${[...t.columns.map((x) => x.name), 'ds'].join('|')})`;
    const ours = new RegExp(`^${t.id}_${column}(_${column})*_idx$`);
    for (const { name } of found.rows) if (ours.test(name) && !listed.has(name)) await c.query(`drop index ${S}.${name}`);
  }
}

/**
 * A warehouse whose grid cells are bigint (an earlier layout): every bigint column named as an
 * integer column of the catalog, in the tables and the aggregates, becomes integer, value for value
 * (a cell number outside the 4-byte range fails the ALTER, naming the column, and changes nothing).
 */
async function narrowedToInteger(c: Client, catalog: readonly TableDef[]): Promise<void> {
  const integers = [...new Set(warehouseTables(catalog).flatMap((t) => t.columns.filter((x) => x.type === 'integer').map((x) => x.name)))];
  const wide = await c.query<{ tbl: string; col: string }>(
    `select c.table_name as tbl, c.column_name as col from information_schema.columns c join pg_class k on k.relname = c.table_name join pg_namespace n on n.oid = k.relnamespace and n.nspname = c.table_schema
     where c.table_schema = $1 and c.data_type = 'bigint' and c.column_name = any($2) and not k.relispartition and k.relkind in ('r', 'p')`,
    [S, integers],
  );
  const byTable = new Map<string, string[]>();
  for (const r of wide.rows) byTable.set(r.tbl, [...(byTable.get(r.tbl) ?? []), r.col]);
  for (const [table, columns] of byTable) await c.query(`alter table ${S}.${table} ${columns.map((col) => `alter column ${col} type integer`).join(', ')}`);
}

/**
 * A warehouse whose md5 keys are char(32) (an earlier layout): every such column of the schema, in
 * the tables, the aggregates and the delivery record, becomes uuid, the same 32 hex digits read as
 * 16 bytes (ALTER on a partitioned table converts its partitions; indexes are rebuilt).
 */
async function md5KeysAsUuid(c: Client, catalog: readonly TableDef[]): Promise<void> {
  const keys = [...new Set(warehouseTables(catalog).flatMap((t) => t.columns.filter((x) => x.md5Key).map((x) => x.name)))];
  const old = await c.query<{ tbl: string; col: string }>(
    `select c.table_name as tbl, c.column_name as col from information_schema.columns c join pg_class k on k.relname = c.table_name join pg_namespace n on n.oid = k.relnamespace and n.nspname = c.table_schema
     where c.table_schema = $1 and c.data_type = 'character' and c.character_maximum_length = 32 and c.column_name = any($2) and not k.relispartition and k.relkind in ('r', 'p')`,
    [S, keys],
  );
  const byTable = new Map<string, string[]>();
  for (const r of old.rows) byTable.set(r.tbl, [...(byTable.get(r.tbl) ?? []), r.col]);
  for (const [table, columns] of byTable) {
    await c.query(`alter table ${S}.${table} ${columns.map((col) => `alter column ${col} type uuid using cast(${col} as uuid)`).join(', ')}`);
  }
}
