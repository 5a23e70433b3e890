import type { Client } from 'pg';
import { CATALOG, warehouseTables, type TableDef } from '@trips/pipeline';
import { dayPartitionName, tableDdl } from './ddl';
import { factTable } from './aggregates';
import { WAREHOUSE_SCHEMA, type WarehouseTable } from './port';

const S = WAREHOUSE_SCHEMA;

/**
 * Builds the day's partition of a day-partitioned table afresh from the rows `select` gives (`$1` is
 * the ds) and swaps it in for the partition the day had, in the caller's transaction: the rows go
 * into a table without indexes, then attaching it builds the parent's indexes on it in one sorted
 * pass each, far cheaper than inserting a batch into live B-trees. By then every row of the day's old
 * partition goes (the load has moved out the trips another day now owns, and counted the rest in
 * `goes`, the rows the load takes out): checked, then the old partition is dropped whole.
 * Attaching locks the parent against other loads only; detaching a rerun's old partition locks its
 * readers out until the load commits.
 */
export async function swapDayPartition(
  c: Client,
  t: WarehouseTable,
  ds: string,
  select: string,
  goes: string,
): Promise<{ inserted: number; deleted: number }> {
  const name = dayPartitionName(t, ds);
  const part = `${S}.${name}`;
  const parent = `${S}.${t.id}`;
  let deleted = 0;
  if ((await relkind(c, name)) !== undefined) {
    const [held] = (await c.query<{ n: string; going: string }>(`select count(*) as n, count(*) filter (where ${goes}) as going from ${part} f left join trip_owner o on o.trip_id = f.trip_id`, [ds])).rows;
    if (held.n !== held.going) {
      throw new Error(`${part} holds ${Number(held.n) - Number(held.going)} row(s) of trips this load does not take out: the warehouse disagrees with trip_delivery`);
    }
    deleted = Number(held.n);
    await c.query(`alter table ${parent} detach partition ${part}`);
    await c.query(`drop table ${part}`);
  }
  await c.query(`create table ${part} (like ${parent})`);
  const cols = [...t.columns.map((x) => x.name), 'ds'].join(', ');
  const inserted = (await c.query(`insert into ${part} (${cols}) ${select}`, [ds])).rowCount ?? 0;
  // A check the partition bound implies: attaching then skips reading the rows to prove it.
  await c.query(`alter table ${part} add constraint ${name}_ds check (ds = date '${ds}')`);
  await c.query(`alter table ${parent} attach partition ${part} for values in ('${ds}')`);
  await c.query(`analyze ${part}`);
  return { inserted, deleted };
}

async function relkind(c: Client, name: string): Promise<string | undefined> {
  const r = await c.query<{ relkind: string }>(
    'select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2',
    [S, name],
  );
  return r.rows[0]?.relkind;
}

/**
 * Brings a local warehouse made by an earlier layout up to this one, in the caller's transaction,
 * before schemaDdl runs (which then creates what is missing):
 * - a table the catalog now partitions by day but that was created whole is moved, row for row,
 *   into a partitioned table of the same name (its old indexes are dropped with it);
 * - the deliveries get the trips' timestamps, from the facts (every delivered trip has a fact row).
 */
export async function upgradePostgresSchema(c: Client, catalog: readonly TableDef[] = CATALOG): Promise<void> {
  for (const t of warehouseTables(catalog).filter((x) => x.warehouse.postgresDayPartitions)) {
    if ((await relkind(c, t.id)) !== 'r') continue; // absent, or partitioned already
    const old = `${t.id}_unpartitioned`;
    await c.query(`alter table ${S}.${t.id} rename to ${old}`);
    // The old indexes' names are the new table's: drop them (the primary key's with its constraint).
    const pk = await c.query<{ name: string }>(`select conname as name from pg_constraint where conrelid = cast($1 as regclass) and contype = 'p'`, [`${S}.${old}`]);
    for (const { name } of pk.rows) await c.query(`alter table ${S}.${old} drop constraint ${name}`);
    const indexes = await c.query<{ name: string }>('select indexname as name from pg_indexes where schemaname = $1 and tablename = $2', [S, old]);
    for (const { name } of indexes.rows) await c.query(`drop index ${S}.${name}`);
    await c.query(tableDdl(t, 'postgres'));
    const days = await c.query<{ ds: string }>(`select distinct to_char(ds, 'YYYY-MM-DD') as ds from ${S}.${old}`);
    for (const { ds } of days.rows) await c.query(`create table ${S}.${dayPartitionName(t, ds)} partition of ${S}.${t.id} for values in ('${ds}')`);
    const cols = [...t.columns.map((x) => x.name), 'ds'].join(', ');
    await c.query(`insert into ${S}.${t.id} (${cols}) select ${cols} from ${S}.${old}`);
    await c.query(`drop table ${S}.${old}`);
  }
  const deliveryColumns = await c.query<{ name: string }>(
    'select column_name as name from information_schema.columns where table_schema = $1 and table_name = $2',
    [S, 'trip_delivery'],
  );
  if (deliveryColumns.rows.length > 0 && !deliveryColumns.rows.some((r) => r.name === 'trip_ts')) {
    await c.query(`alter table ${S}.trip_delivery add column trip_ts timestamp`);
    await c.query(`update ${S}.trip_delivery d set trip_ts = f.trip_ts from ${S}.${factTable(catalog).id} f where f.trip_id = d.trip_id`);
    await c.query(`alter table ${S}.trip_delivery alter column trip_ts set not null`);
  }
}
