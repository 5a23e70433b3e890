import { SCHEMAS, type Column } from '@trips/pipeline';
import { aggregateDdl } from './aggregates';
import { WAREHOUSE_SCHEMA, WAREHOUSE_TABLES, type WarehouseTable } from './port';

export type Dialect = 'postgres' | 'redshift';

/** Warehouse type of a lake column: keys are md5 hex, 32 characters. */
export function sqlType(c: Column, dialect: Dialect): string {
  switch (c.type) {
    case 'varchar':
      return c.name.endsWith('_key') || c.name === 'trip_id' ? 'char(32)' : 'varchar(256)';
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

/** Physical design per dialect (docs/warehouse.md explains the choices). */
const REDSHIFT_LAYOUT: Record<string, string> = {
  fact_trips: 'diststyle key distkey (trip_id) compound sortkey (ds, region_key)',
  dim_trip_group: 'diststyle all sortkey (region_key)',
};

const POSTGRES_INDEXES = [
  `create index if not exists fact_trips_ds_idx on ${WAREHOUSE_SCHEMA}.fact_trips (ds)`,
  `create index if not exists fact_trips_region_date_idx on ${WAREHOUSE_SCHEMA}.fact_trips (region_key, date_key)`,
  `create index if not exists fact_trips_ts_idx on ${WAREHOUSE_SCHEMA}.fact_trips (trip_ts)`,
  // Both column orders: the edge strips of a box are narrow in x (left, right) or in y (top, bottom).
  `create index if not exists fact_trips_origin_cell_idx on ${WAREHOUSE_SCHEMA}.fact_trips (origin_cell_x, origin_cell_y)`,
  `create index if not exists fact_trips_origin_cell_yx_idx on ${WAREHOUSE_SCHEMA}.fact_trips (origin_cell_y, origin_cell_x)`,
  `create index if not exists fact_trips_dest_cell_idx on ${WAREHOUSE_SCHEMA}.fact_trips (dest_cell_x, dest_cell_y)`,
  `create index if not exists fact_trips_dest_cell_yx_idx on ${WAREHOUSE_SCHEMA}.fact_trips (dest_cell_y, dest_cell_x)`,
  `create index if not exists fact_trips_group_idx on ${WAREHOUSE_SCHEMA}.fact_trips (trip_group_key)`,
  `create index if not exists dim_trip_group_cell_size_idx on ${WAREHOUSE_SCHEMA}.dim_trip_group (cell_size_deg)`,
];

/** Idempotent DDL for the warehouse schema, one statement per element. */
export function schemaDdl(dialect: Dialect): string[] {
  const statements = [`create schema if not exists ${WAREHOUSE_SCHEMA}`];
  for (const t of WAREHOUSE_TABLES) {
    const cols = columnsOf(t).map((c) => `  ${c.name} ${sqlType(c, dialect)}${c.nullable ? '' : ' not null'}`);
    if (t.mode === 'replace-partition') cols.push('  ds date not null');
    cols.push(`  primary key (${SCHEMAS[t.schema].key.join(', ')})`);
    const layout = dialect === 'redshift' ? ` ${REDSHIFT_LAYOUT[t.name] ?? 'diststyle all'}` : '';
    statements.push(`create table if not exists ${WAREHOUSE_SCHEMA}.${t.name} (\n${cols.join(',\n')}\n)${layout}`);
  }
  statements.push(...aggregateDdl());
  if (dialect === 'postgres') statements.push(...POSTGRES_INDEXES);
  return statements;
}

/**
 * The statements of one load after the staging table `stage` holds the lake rows; `$1` is the ds.
 * Both dialects accept them (Redshift has no ON CONFLICT, hence NOT EXISTS).
 */
export function loadStatements(t: WarehouseTable): { delete?: string; insert: string } {
  const target = `${WAREHOUSE_SCHEMA}.${t.name}`;
  const cols = columnsOf(t).map((c) => c.name);
  const key = SCHEMAS[t.schema].key;
  const notLoaded = `not exists (select 1 from ${target} x where ${key.map((k) => `x.${k} = s.${k}`).join(' and ')})`;
  if (t.mode === 'merge') {
    return { insert: `insert into ${target} (${cols.join(', ')}) select distinct ${cols.map((c) => `s.${c}`).join(', ')} from stage s where ${notLoaded}` };
  }
  return {
    delete: `delete from ${target} where ds = $1`,
    insert: `insert into ${target} (${cols.join(', ')}, ds) select ${cols.map((c) => `s.${c}`).join(', ')}, cast($1 as date) from stage s where ${notLoaded}`,
  };
}
