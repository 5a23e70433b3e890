import { NAME_COLUMN_BYTES, SCHEMAS, type Column } from '@trips/pipeline';
import { aggregateDdl, aggregateDeltaStatements, deltaSelect } from './aggregates';
import { WAREHOUSE_SCHEMA, WAREHOUSE_TABLES, type WarehouseTable } from './port';

export type Dialect = 'postgres' | 'redshift';

/** Warehouse type of a lake column: keys are md5 hex, 32 characters. */
export function sqlType(c: Column, dialect: Dialect): string {
  switch (c.type) {
    case 'varchar':
      return c.name.endsWith('_key') || c.name === 'trip_id' ? 'char(32)' : `varchar(${NAME_COLUMN_BYTES})`;
    case 'double':
      return 'double precision';
    case 'timestamp':
      return 'timestamp';
    case 'date':
      return 'date';
    case 'integer':
      return 'integer';
    case 'bigint':
      return 'bigint';
    default:
      throw new Error(`no ${dialect} type for ${(c as Column).type}`);
  }
}

export function columnsOf(t: WarehouseTable): Column[] {
  return SCHEMAS[t.schema].columns;
}

const S = WAREHOUSE_SCHEMA;

/** Physical design per dialect (docs/warehouse.md explains the choices). */
const REDSHIFT_LAYOUT: Record<string, string> = {
  fact_trips: 'diststyle key distkey (trip_id) compound sortkey (ds, region_key)',
  trip_delivery: 'diststyle key distkey (trip_id) compound sortkey (ds, trip_id)',
  dim_trip_group: 'diststyle all sortkey (region_key)',
};

const POSTGRES_INDEXES = [
  `create index if not exists fact_trips_ds_idx on ${S}.fact_trips (ds)`,
  `create index if not exists fact_trips_region_date_idx on ${S}.fact_trips (region_key, date_key)`,
  `create index if not exists fact_trips_ts_idx on ${S}.fact_trips (trip_ts)`,
  // Both column orders: the edge strips of a box are narrow in x (left, right) or in y (top, bottom).
  `create index if not exists fact_trips_origin_cell_idx on ${S}.fact_trips (origin_cell_x, origin_cell_y)`,
  `create index if not exists fact_trips_origin_cell_yx_idx on ${S}.fact_trips (origin_cell_y, origin_cell_x)`,
  `create index if not exists fact_trips_dest_cell_idx on ${S}.fact_trips (dest_cell_x, dest_cell_y)`,
  `create index if not exists fact_trips_dest_cell_yx_idx on ${S}.fact_trips (dest_cell_y, dest_cell_x)`,
  `create index if not exists fact_trips_group_idx on ${S}.fact_trips (trip_group_key)`,
  `create index if not exists trip_delivery_trip_idx on ${S}.trip_delivery (trip_id)`,
  `create index if not exists dim_trip_group_cell_size_idx on ${S}.dim_trip_group (cell_size_deg)`,
];

/** Idempotent DDL for the warehouse schema, one statement per element. */
export function schemaDdl(dialect: Dialect): string[] {
  const layout = (table: string) => (dialect === 'redshift' ? ` ${REDSHIFT_LAYOUT[table] ?? 'diststyle all'}` : '');
  const statements = [`create schema if not exists ${S}`];
  for (const t of WAREHOUSE_TABLES) {
    const cols = columnsOf(t).map((c) => `  ${c.name} ${sqlType(c, dialect)}${c.nullable ? '' : ' not null'}`);
    if (t.mode === 'replace-partition') cols.push('  ds date not null');
    cols.push(`  primary key (${SCHEMAS[t.schema].key.join(', ')})`);
    statements.push(`create table if not exists ${S}.${t.name} (\n${cols.join(',\n')}\n)${layout(t.name)}`);
  }
  // Which day delivered which trip: the facts hold each delivered trip once, under its earliest day.
  statements.push(`create table if not exists ${S}.trip_delivery (\n  ds date not null,\n  trip_id char(32) not null,\n  primary key (ds, trip_id)\n)${layout('trip_delivery')}`);
  // A warehouse from before trip_delivery existed: its facts are the deliveries it knows of.
  statements.push(`insert into ${S}.trip_delivery (ds, trip_id) select ds, trip_id from ${S}.fact_trips where not exists (select 1 from ${S}.trip_delivery)`);
  statements.push(...aggregateDdl());
  if (dialect === 'postgres') statements.push(...POSTGRES_INDEXES);
  return statements;
}

/** One statement of a table load. `$1` is the ds; `count` says which of the load's figures its row count is. */
export interface LoadStep {
  sql: string;
  count?: 'inserted' | 'deleted';
  /** Statistics for the planner on a temporary table (PostgreSQL; Redshift plans without them). */
  postgresOnly?: boolean;
}

/**
 * What a load runs after the staging table `stage` holds the lake rows, in one transaction. Both
 * dialects accept them (Redshift has no ON CONFLICT, hence NOT EXISTS; temporary tables are dropped
 * with the session there, at commit here).
 *
 * Dimensions (`merge`): insert the members whose key is not there yet.
 *
 * Facts (`replace-partition`): the warehouse holds exactly the distinct trips of the latest batch
 * of each day, whatever order days are loaded and reloaded in. `trip_delivery` records which day
 * delivered which trip; the day's deliveries are replaced by the staged ones; every trip the day
 * delivered before or delivers now is then owned by the earliest day delivering it (the `ds` of its
 * fact row): trips no day delivers any more are deleted, trips owned by this day are (re)written from
 * the stage, trips owned by another day stay and take that day as their ds. Each aggregate gets the
 * difference (rows removed, rows added), so the work is the size of the batch.
 */
export function loadSteps(t: WarehouseTable): LoadStep[] {
  const target = `${S}.${t.name}`;
  const cols = columnsOf(t).map((c) => c.name);
  const key = SCHEMAS[t.schema].key;
  if (t.mode === 'merge') {
    const notLoaded = `not exists (select 1 from ${target} x where ${key.map((k) => `x.${k} = s.${k}`).join(' and ')})`;
    return [{ sql: `insert into ${target} (${cols.join(', ')}) select distinct ${cols.map((c) => `s.${c}`).join(', ')} from stage s where ${notLoaded}`, count: 'inserted' }];
  }
  const day = 'cast($1 as date)';
  const gone = `select t.trip_id from touched_trips t left join trip_owner o on o.trip_id = t.trip_id where o.trip_id is null or o.ds = ${day}`;
  return [
    { sql: `create temp table touched_trips on commit drop as select trip_id from ${S}.trip_delivery where ds = ${day} union select trip_id from stage` },
    { sql: 'analyze touched_trips', postgresOnly: true },
    { sql: `delete from ${S}.trip_delivery where ds = ${day}` },
    { sql: `insert into ${S}.trip_delivery (ds, trip_id) select distinct ${day}, trip_id from stage` },
    { sql: `create temp table trip_owner on commit drop as select d.trip_id, min(d.ds) as ds from ${S}.trip_delivery d join touched_trips t on t.trip_id = d.trip_id group by d.trip_id` },
    { sql: 'analyze trip_owner', postgresOnly: true },
    { sql: `create temp table fact_delta on commit drop as select ${deltaSelect(-1)} from ${target} f where f.trip_id in (${gone})` },
    { sql: `delete from ${target} where trip_id in (${gone})`, count: 'deleted' },
    { sql: `update ${target} set ds = o.ds from trip_owner o where ${target}.trip_id = o.trip_id and ${target}.ds <> o.ds` },
    {
      sql: `insert into ${target} (${cols.join(', ')}, ds) select ${cols.map((c) => `s.${c}`).join(', ')}, ${day} from stage s join trip_owner o on o.trip_id = s.trip_id where o.ds = ${day}`,
      count: 'inserted',
    },
    { sql: `insert into fact_delta select ${deltaSelect(1)} from stage f join trip_owner o on o.trip_id = f.trip_id where o.ds = ${day}` },
    ...aggregateDeltaStatements().map((sql) => ({ sql })),
  ];
}
