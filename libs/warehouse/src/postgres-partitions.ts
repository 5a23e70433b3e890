import type { Client } from 'pg';
import { CATALOG, warehouseTables, type TableDef } from '@trips/pipeline';
import { tableDdl, weekPartitionDdl } from './ddl';
import { factTable } from './aggregates';
import { WAREHOUSE_SCHEMA, type WarehouseTable } from './port';

const S = WAREHOUSE_SCHEMA;

/**
 * Creates the week partitions that the rows of `from` (a table or a temporary table the session
 * sees) need and the table lacks, in the caller's transaction. Returns the weeks created.
 */
export async function ensureWeekPartitions(c: Client, t: WarehouseTable, from: string): Promise<string[]> {
  const column = t.warehouse.postgresWeekPartitions;
  if (!column) return [];
  const weeks = await c.query<{ week: string }>(`select distinct to_char(date_trunc('week', ${column}), 'YYYY-MM-DD') as week from ${from}`);
  const existing = await c.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = cast($1 as regclass)`,
    [`${S}.${t.id}`],
  );
  const have = new Set(existing.rows.map((r) => r.name));
  const created: string[] = [];
  for (const { week } of weeks.rows) {
    if (have.has(`${t.id}_w${week.replace(/-/g, '')}`)) continue;
    for (const sql of weekPartitionDdl(t, week)) await c.query(sql);
    created.push(week);
  }
  return created;
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
 * - a table the catalog now partitions by week but that was created whole is moved, row for row,
 *   into a partitioned table of the same name (its old indexes are dropped with it);
 * - the deliveries get the trips' timestamps, from the facts (every delivered trip has a fact row).
 */
export async function upgradePostgresSchema(c: Client, catalog: readonly TableDef[] = CATALOG): Promise<void> {
  for (const t of warehouseTables(catalog).filter((x) => x.warehouse.postgresWeekPartitions)) {
    if ((await relkind(c, t.id)) !== 'r') continue; // absent, or partitioned already
    const old = `${t.id}_unpartitioned`;
    await c.query(`alter table ${S}.${t.id} rename to ${old}`);
    // The old indexes' names are the new table's: drop them (the primary key's with its constraint).
    const pk = await c.query<{ name: string }>(`select conname as name from pg_constraint where conrelid = cast($1 as regclass) and contype = 'p'`, [`${S}.${old}`]);
    for (const { name } of pk.rows) await c.query(`alter table ${S}.${old} drop constraint ${name}`);
    const indexes = await c.query<{ name: string }>('select indexname as name from pg_indexes where schemaname = $1 and tablename = $2', [S, old]);
    for (const { name } of indexes.rows) await c.query(`drop index ${S}.${name}`);
    await c.query(tableDdl(t, 'postgres'));
    await ensureWeekPartitions(c, t, `${S}.${old}`);
    const cols = [...t.columns.map((x) => x.name), ...(t.warehouse.load === 'replace-partition' ? ['ds'] : [])].join(', ');
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
