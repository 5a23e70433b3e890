import { WAREHOUSE_SCHEMA } from './port';

/**
 * Aggregates of fact_trips that make the weekly questions cheap at scale. They live in the warehouse,
 * derived from trips.fact_trips inside the same transaction as each fact load, so they always agree
 * with the facts the warehouse holds (including the cross-batch duplicates it refused). Weeks are
 * ISO weeks, starting Monday, of the trip's UTC timestamp.
 */
export interface Aggregate {
  name: string;
  /** Grouping columns: warehouse column name and the fact expression it comes from. */
  groupBy: Array<{ column: string; expr: string; type: string }>;
}

const WEEK = { column: 'week_start_date', expr: "cast(date_trunc('week', f.trip_ts) as date)", type: 'date' };
const col = (name: string, type: string) => ({ column: name, expr: `f.${name}`, type });

export const AGGREGATES: Aggregate[] = [
  { name: 'agg_weekly_region', groupBy: [WEEK, col('region_key', 'char(32)')] },
  { name: 'agg_weekly_origin_cell', groupBy: [WEEK, col('origin_cell_x', 'bigint'), col('origin_cell_y', 'bigint')] },
  { name: 'agg_weekly_dest_cell', groupBy: [WEEK, col('dest_cell_x', 'bigint'), col('dest_cell_y', 'bigint')] },
  { name: 'agg_trip_group', groupBy: [col('trip_group_key', 'char(32)')] },
];

export function aggregateDdl(): string[] {
  return AGGREGATES.map(
    (a) =>
      `create table if not exists ${WAREHOUSE_SCHEMA}.${a.name} (\n${a.groupBy.map((g) => `  ${g.column} ${g.type} not null`).join(',\n')},\n  trips bigint not null,\n  primary key (${a.groupBy.map((g) => g.column).join(', ')})\n)`,
  );
}

/**
 * Statements run in the fact load's transaction. `capture` (before the delete) records which weeks
 * and trip groups the load can change: those of the ds's old rows and of the staged rows. `refresh`
 * (after the insert) recomputes exactly those slices from the fact table.
 */
export function aggregateRefresh(): { capture: string[]; refresh: string[] } {
  const fact = `${WAREHOUSE_SCHEMA}.fact_trips`;
  const capture = [
    `create temp table touched_weeks on commit drop as select distinct cast(date_trunc('week', trip_ts) as date) as week_start_date from ${fact} where ds = $1 union select distinct cast(date_trunc('week', trip_ts) as date) from stage`,
    `create temp table touched_groups on commit drop as select distinct trip_group_key from ${fact} where ds = $1 union select distinct trip_group_key from stage`,
  ];
  const refresh: string[] = [];
  for (const a of AGGREGATES) {
    const target = `${WAREHOUSE_SCHEMA}.${a.name}`;
    const weekly = a.groupBy[0] === WEEK;
    const slice = weekly ? 'week_start_date in (select week_start_date from touched_weeks)' : 'trip_group_key in (select trip_group_key from touched_groups)';
    const factSlice = weekly
      ? `f.trip_ts >= (select min(week_start_date) from touched_weeks) and f.trip_ts < (select max(week_start_date) from touched_weeks) + 7 and ${WEEK.expr} in (select week_start_date from touched_weeks)`
      : 'f.trip_group_key in (select trip_group_key from touched_groups)';
    refresh.push(`delete from ${target} where ${slice}`);
    refresh.push(
      `insert into ${target} (${a.groupBy.map((g) => g.column).join(', ')}, trips) select ${a.groupBy.map((g) => g.expr).join(', ')}, count(*) from ${fact} f where ${factSlice} group by ${a.groupBy.map((_, i) => i + 1).join(', ')}`,
    );
  }
  return { capture, refresh };
}

/** The same aggregates computed from scratch: what every refresh must equal (used by tests and checks). */
export function aggregateFromScratch(a: Aggregate): string {
  return `select ${a.groupBy.map((g) => `${g.expr} as ${g.column}`).join(', ')}, count(*) as trips from ${WAREHOUSE_SCHEMA}.fact_trips f group by ${a.groupBy.map((_, i) => i + 1).join(', ')}`;
}
