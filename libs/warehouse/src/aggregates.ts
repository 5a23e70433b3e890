import { CATALOG, warehouseTables, type Column, type TableDef } from '@trips/pipeline';
import type { WarehouseDialect } from '@trips/core';
import { WAREHOUSE_SCHEMA, type WarehouseTable } from './port';
import { columnDdl, fillWhenEmpty, postgresIndexDdl } from './types';

/** The facts of the warehouse: the one table the catalog loads by replacing a day's partition. */
export function factTable(catalog: readonly TableDef[] = CATALOG): WarehouseTable {
  const facts = warehouseTables(catalog).filter((t) => t.warehouse.load === 'replace-partition');
  if (facts.length !== 1) throw new Error(`the catalog has ${facts.length} tables loaded by replace-partition; the warehouse keeps deliveries and aggregates for exactly one`);
  return facts[0];
}

/**
 * A column of an aggregate: warehouse column name, the fact expression it comes from (alias f), and
 * its type: the fact column's, or `date` for the week. `duckdb`: the expression in DuckDB where it
 * differs (the staged groups, stagedGroups).
 */
export interface AggregateColumn {
  column: string;
  expr: string;
  of?: Column;
  duckdb?: string;
}

/**
 * Aggregates of the facts that make the weekly questions cheap at scale. They live in the warehouse,
 * kept in step with the facts inside the same transaction as each fact load, so they always agree
 * with the facts the warehouse holds. Weeks are ISO weeks, starting Monday, of the trip's UTC
 * timestamp.
 */
export interface Aggregate {
  name: string;
  /** Grouping columns. */
  groupBy: AggregateColumn[];
  /** PostgreSQL: secondary B-tree indexes, for a question that reads the aggregate in another order than its key. */
  postgresIndexes?: string[][];
  /**
   * A column `size_class` beside `trips`: the group's size class (sizeClass) when it holds at least
   * `LARGE_GROUP_TRIPS` trips, else null. On PostgreSQL a partial index of it, largest first, holds
   * the large groups only.
   *
   * `within`: a column the group determines (a trip group's region), kept for the large groups and
   * null in the others, so that the largest groups of one of its values are read from the top of
   * their own: on PostgreSQL a second partial index, of the large groups by that column and size
   * class. Read through the class index of every large group instead, a region's largest groups
   * cost the large groups of every region divided by the region's share (150 ms for one holding
   * 3.3% of them at 49M trips; docs/scale.md). Kept in every group, it made each row 16 bytes
   * longer (56 to 72) and the trip groups' upsert 40% slower at 20M trips; null, it costs a small
   * group nothing, and the upsert about 12% (docs/warehouse.md). The load's groups carry it
   * whatever their size (the facts' value), and the merge keeps it where the group ends up large:
   * a group that becomes large through a load adding fewer trips than that has it too. A warehouse
   * whose aggregate predates the column takes it from the dimension the group key refers to
   * (withinDimension).
   */
  large?: { within?: AggregateColumn };
}

/**
 * The trips that make a group large: the largest groups are read from the large ones
 * (largest_trip_groups.sql), which are few (1% of the trip groups at 4M trips) and hold the answer
 * whenever there are as many of them as asked for; otherwise the question reads the rest. Most
 * groups hold a few trips, and every load changes many of them: an index of every group by size was
 * larger than the aggregate itself (17 MB per million trips), each load rewrote it at random, and no
 * update could stay on its page (HOT: PostgreSQL then writes no index entry). A small group's
 * `size_class` stays null whatever its trips, so its update touches no indexed column, and the
 * aggregates leave room on their pages for it (AGGREGATE_FILLFACTOR).
 */
export const LARGE_GROUP_TRIPS = 32;

/**
 * Size classes per doubling of a large group's trips: its class is floor(4 · log2(trips)), 20 at
 * 32 trips, one class for every 19% more trips. The index of the large groups reads the class, not
 * the trips: the large groups grow with the warehouse (they held 37% of the trips at 4M), a load
 * adds trips to most of them, and an update that changed the indexed trips could not stay on its
 * page, writing an entry in both of the aggregate's indexes for every large group it touched. A
 * class changes only when the group's trips grow by a fifth.
 */
export const SIZE_CLASSES_PER_DOUBLING = 4;

/** PostgreSQL: the share of each page of an aggregate that inserts fill, leaving the rest to updates kept on the page. */
export const AGGREGATE_FILLFACTOR = 70;

/**
 * An aggregate's `size_class` for the trips `trips` (an SQL expression): floor(4 · log2(trips)) if
 * the group is large, else null. Computed in double precision (both dialects' `ln`): rounding keeps it
 * monotonic, so a group with more trips never has a lower class, which is all the largest groups'
 * question needs of it.
 */
export const sizeClass = (trips: string) =>
  `case when ${trips} >= ${LARGE_GROUP_TRIPS} then cast(floor(${SIZE_CLASSES_PER_DOUBLING} * ln(cast(${trips} as double precision)) / ln(cast(2 as double precision))) as integer) end`;

const WEEK = { column: 'week_start_date', expr: "cast(date_trunc('week', f.trip_ts) as date)" };
const fact = (name: string) => {
  const c = factTable().columns.find((x) => x.name === name);
  if (!c) throw new Error(`aggregates: the facts have no column ${name}`);
  return { column: name, expr: `f.${name}`, of: c };
};

/**
 * Grid cells per side of a block: the box matched on both ends sums the block pairs wholly inside
 * the box from `agg_weekly_block_pair` and checks trip by trip only the ring of cells, less than a
 * block wide, between those blocks and the box's edge (weekly_trips_box_both.sql, which assumes 4).
 * A box over a whole city sums every pair it holds: on 2M generated trips in 4 weeks there were
 * 144,682 pairs of cells a week apart against 3,686 pairs of 4×4-cell blocks, so blocks it is.
 */
export const BLOCK_CELLS = 4;

/**
 * The block of a grid cell column: floor division by BLOCK_CELLS, also for negative cells, in
 * integers (both dialects truncate an integer division toward zero). Every fact row a load adds
 * computes four of them: as `floor(x / 4.0)`, numeric division, the four took 1.3 s per million
 * rows on PostgreSQL, against 0.13 s this way.
 */
export const blockOf = (cell: string, divide: '/' | '//' = '/') =>
  `case when ${cell} >= 0 then ${cell} ${divide} ${BLOCK_CELLS} else (${cell} - ${BLOCK_CELLS - 1}) ${divide} ${BLOCK_CELLS} end`;

const block = (cell: string) => {
  const column = cell.replace('_cell_', '_block_');
  // DuckDB's `/` divides integers into a double; its `//` truncates toward zero as the warehouses' `/` does.
  return { column, expr: blockOf(`f.${cell}`), duckdb: blockOf(`f.${cell}`, '//'), of: { ...fact(cell).of, name: column } };
};

export const AGGREGATES: Aggregate[] = [
  { name: 'agg_weekly_region', groupBy: [WEEK, fact('region_key')] },
  { name: 'agg_weekly_origin_cell', groupBy: [WEEK, fact('origin_cell_x'), fact('origin_cell_y')] },
  { name: 'agg_weekly_dest_cell', groupBy: [WEEK, fact('dest_cell_x'), fact('dest_cell_y')] },
  // The box matched on both ends: the pairs of blocks it holds whole.
  { name: 'agg_weekly_block_pair', groupBy: [WEEK, block('origin_cell_x'), block('origin_cell_y'), block('dest_cell_x'), block('dest_cell_y')] },
  // The largest groups: read from the large ones, not by sorting every group.
  { name: 'agg_trip_group', groupBy: [fact('trip_group_key')], large: { within: fact('region_key') } },
  // Where a datasource appeared (the regions question), without reading the facts.
  { name: 'agg_datasource_region', groupBy: [fact('datasource_key'), fact('region_key')] },
];

/** The column the large groups of an aggregate are also ranked within, if any. */
const withinOf = (a: Aggregate) => a.large?.within;

/**
 * Where a group's `within` column is read when a warehouse's aggregate gains the column (the
 * upgrade, postgres-partitions.ts): the dimension the facts' group key refers to (the catalog's
 * relationships), which must hold the column.
 */
export function withinDimension(a: Aggregate): { table: string; key: string } {
  const within = withinOf(a);
  const [group, ...more] = a.groupBy;
  const rel = factTable().tests?.relationships?.find((r) => r.column === group?.column);
  const dim = rel && warehouseTables().find((t) => t.id === rel.to);
  if (!within || more.length > 0 || !rel || !dim?.columns.some((c) => c.name === within.column)) {
    throw new Error(`aggregates: ${a.name} ranks its large groups within ${within?.column ?? 'no column'}, which takes one group key that the facts refer to a dimension by, holding that column; the catalog has none`);
  }
  return { table: dim.id, key: rel.field };
}

/** The `within` column's value for a group of `trips` trips (an SQL expression) whose value is `value`: kept while the group is large. */
const withinValue = (trips: string, value: string) => `case when ${trips} >= ${LARGE_GROUP_TRIPS} then ${value} end`;

/** Every grouping column of every aggregate and every `within` column, once: the columns of a load's `fact_delta`. */
export const DELTA_COLUMNS = [...new Map(AGGREGATES.flatMap((a) => [...a.groupBy, ...(a.large?.within ? [a.large.within] : [])]).map((g) => [g.column, g])).values()];

/** The columns an aggregate holds besides its groups: `trips`, and `size_class` (and the `within` column) if it has large groups. */
export function aggregateValueColumns(a: Aggregate): string[] {
  const within = withinOf(a);
  return a.large ? ['trips', 'size_class', ...(within ? [within.column] : [])] : ['trips'];
}

/**
 * The partial indexes of an aggregate's large groups (PostgreSQL): by size class, largest first, and,
 * with a `within` column, by that column and size class.
 */
function largeGroupsIndexDdl(a: Aggregate): string[] {
  if (!a.large) return [];
  const within = withinOf(a);
  const on = `on ${WAREHOUSE_SCHEMA}.${a.name}`;
  return [
    `create index if not exists ${a.name}_size_class_idx ${on} (size_class desc, ${a.groupBy.map((g) => g.column).join(', ')}) where size_class is not null`,
    ...(within ? [`create index if not exists ${a.name}_${within.column}_size_class_idx ${on} (${within.column}, size_class desc) where size_class is not null`] : []),
  ];
}

/** An aggregate column as a catalog column: the fact column's type, or `date` for the week. */
const columnOf = (g: AggregateColumn, nullable = false): Column => ({ ...(g.of ?? { type: 'date' as const }), name: g.column, nullable });

export function aggregateDdl(dialect: WarehouseDialect): string[] {
  const postgres = dialect === 'postgres';
  const indexes = (a: Aggregate) => (postgres ? [...(a.postgresIndexes ?? []).map((cols) => postgresIndexDdl(a.name, cols)), ...largeGroupsIndexDdl(a)] : []);
  const column = (g: AggregateColumn, nullable = false) => `  ${columnDdl(columnOf(g, nullable), dialect)}`;
  return AGGREGATES.flatMap((a) => [
    `create table if not exists ${WAREHOUSE_SCHEMA}.${a.name} (\n${a.groupBy.map((g) => column(g)).join(',\n')},\n  trips bigint not null,\n${a.large ? '  size_class integer,\n' : ''}${withinOf(a) ? `${column(withinOf(a) as AggregateColumn, true)},\n` : ''}  primary key (${a.groupBy.map((g) => g.column).join(', ')})\n)${postgres ? ` with (fillfactor = ${AGGREGATE_FILLFACTOR})` : ''}`,
    // An aggregate new to a warehouse that already holds facts is computed once from them; from
    // then on every load keeps it in step.
    backfill(a, dialect),
    ...indexes(a),
  ]);
}

/** Fills an empty aggregate from the facts (fillWhenEmpty). */
function backfill(a: Aggregate, dialect: WarehouseDialect): string {
  const columns = [...a.groupBy.map((g) => g.column), ...aggregateValueColumns(a)].join(', ');
  return fillWhenEmpty(dialect, `${WAREHOUSE_SCHEMA}.${a.name}`, columns, (where) => aggregateFromScratch(a, where));
}

/** The SELECT list of fact_delta rows for fact rows aliased `f`, with `delta` (+1 or -1). */
export function deltaSelect(delta: 1 | -1): string {
  return `${DELTA_COLUMNS.map((g) => `${g.expr} as ${g.column}`).join(', ')}, ${delta} as delta`;
}

/**
 * PostgreSQL: the trips a load stages, counted into an aggregate's groups by DuckDB from the staged
 * lake files (the relation `lake`, alias f), in key order: the work table `staged_<aggregate>` holds
 * them (`ddl` creates it in the load's schema; the adapter copies `select`'s rows into it, in
 * `columns`' order). The load adds them to the aggregate together with `fact_removed`'s sums, which
 * then also holds the staged rows the load does not keep (trips an earlier day owns). Grouping a million
 * fact rows took PostgreSQL 0.2-0.25 s per small aggregate and 0.75 s for the trip groups (a hash
 * of two uuids per row), after 1.1 s to write them into `fact_delta`; DuckDB groups them all in a
 * fraction of that, on its own threads while the load's first steps run (docs/warehouse.md).
 */
export function stagedGroups(a: Aggregate): { table: string; ddl: string; select: string; columns: Column[] } {
  const within = withinOf(a);
  const columns = [...a.groupBy.map((g) => columnOf(g)), ...(within ? [columnOf(within, true)] : []), { name: 'trips', type: 'bigint' as const }];
  const grouped = [...a.groupBy, ...(within ? [within] : [])];
  const table = `staged_${a.name}`;
  return {
    table,
    ddl: `create unlogged table ${table} (${columns.map((c) => columnDdl(c, 'postgres')).join(', ')})`,
    select: `select ${grouped.map((g) => `${g.duckdb ?? g.expr} as ${g.column}`).join(', ')}, count(*) as trips from lake f group by all order by ${a.groupBy.map((g) => g.column).join(', ')}`,
    columns,
  };
}

/**
 * Statements that apply a load's changes to every aggregate: add the summed deltas to the groups
 * that exist, insert the groups that do not, drop the groups the load left with no trips. The work
 * is proportional to the load, not to the warehouse: on PostgreSQL a MERGE probes each changed
 * group by its key (PROBES_ONLY), and only the groups the load removed trips from (`fact_removed`,
 * the -1 rows) are looked at for emptiness (a join of all the aggregate's groups, as Redshift's
 * UPDATE … FROM and NOT EXISTS would be planned here, grows with the warehouse).
 *
 * PostgreSQL sums `fact_removed` into a work table (`removed_<aggregate>`) and merges it, joined
 * with the staged groups (stagedGroups, already summed), into the aggregate, leaving out the groups
 * they sum to nothing. A MERGE rather than INSERT … ON CONFLICT: the same probe of each group, but
 * a new group is inserted as it is, where ON CONFLICT inserts it speculatively (a second pass over
 * the key's index, and a token to confirm): the trip groups' upsert of a day of 1M trips into an
 * empty warehouse took 1.5-1.7 s instead of 2.0 s (docs/scale.md). Only the load writes the
 * aggregates, one load at a time (it holds the facts' table lock), so no other transaction inserts
 * a group between the probe and the insert. Redshift applies `fact_delta` (one row per fact row
 * removed, -1, or added, +1) summed.
 */
export function aggregateDeltaStatements(dialect: WarehouseDialect): string[] {
  const out: string[] = dialect === 'postgres' ? [...PROBES_ONLY.on] : [];
  for (const a of AGGREGATES) {
    const target = `${WAREHOUSE_SCHEMA}.${a.name}`;
    const keys = a.groupBy.map((g) => g.column);
    const w = withinOf(a)?.column;
    // The `within` column goes with its group: grouping by it too changes no group.
    const groupColumns = [...keys, ...(w ? [w] : [])];
    const grouped = groupColumns.join(', ');
    const same = (left: string, right = 'd') => keys.map((k) => `${left}.${k} = ${right}.${k}`).join(' and ');
    const values = aggregateValueColumns(a).join(', ');
    if (dialect === 'postgres') {
      // The removed rows' sums, and the staged groups' with them: a rerun takes out and adds back
      // the same trips, and its groups, summed to nothing, are not written at all.
      const staged = stagedGroups(a).table;
      const removed = `removed_${a.name}`;
      const pick = (c: string) => `coalesce(s.${c}, r.${c}) as ${c}`;
      out.push(`create unlogged table ${removed} as select ${grouped}, sum(delta) as trips from fact_removed group by ${grouped}`);
      // A group already large keeps its `within` value; one large after this load takes the load's
      // (the staged groups' or the removed rows', both the facts' value).
      const changes = `(select ${groupColumns.map(pick).join(', ')}, coalesce(s.trips, 0) + coalesce(r.trips, 0) as trips from ${staged} s full join ${removed} r on ${same('s', 'r')}) d`;
      const total = 'a.trips + d.trips';
      out.push(
        `merge into ${target} as a using (select * from ${changes} where trips <> 0) d on ${same('a')} ` +
          `when matched then update set trips = ${total}${a.large ? `, size_class = ${sizeClass(total)}` : ''}${w ? `, ${w} = ${withinValue(total, `coalesce(a.${w}, d.${w})`)}` : ''} ` +
          `when not matched then insert (${keys.join(', ')}, ${values}) values (${keys.map((k) => `d.${k}`).join(', ')}, d.trips${a.large ? `, ${sizeClass('d.trips')}` : ''}${w ? `, ${withinValue('d.trips', `d.${w}`)}` : ''})`,
      );
      out.push(`delete from ${target} a using ${removed} d where ${same('a')} and a.trips = 0`);
      continue;
    }
    const summed = `(select ${grouped}, sum(delta) as delta from fact_delta group by ${grouped} having sum(delta) <> 0) d`;
    out.push(
      `update ${target} as a set trips = a.trips + d.delta${a.large ? `, size_class = ${sizeClass('a.trips + d.delta')}` : ''}${w ? `, ${w} = ${withinValue('a.trips + d.delta', `d.${w}`)}` : ''} from ${summed} where ${same('a')}`,
    );
    out.push(
      `insert into ${target} (${keys.join(', ')}, ${values}) select ${keys.map((k) => `d.${k}`).join(', ')}, d.delta${a.large ? `, ${sizeClass('d.delta')}` : ''}${w ? `, ${withinValue('d.delta', `d.${w}`)}` : ''} from ${summed} where not exists (select 1 from ${target} a where ${same('a')})`,
    );
    out.push(`delete from ${target} where trips = 0`);
  }
  if (dialect === 'postgres') out.push(...PROBES_ONLY.off);
  return out;
}

/**
 * PostgreSQL: the planner settings the aggregates' MERGEs run under, and those that end them. A
 * MERGE is an outer join of the aggregate with the load's groups, which the planner could hash or
 * merge by reading the whole aggregate (it grows with the warehouse); without those two methods it
 * probes the aggregate's key for each of the load's groups, as ON CONFLICT does. The full join of
 * the staged groups with the removed rows' sums has no other method, so the planner keeps the
 * cheaper of the two disabled ones: a merge join of both sorted by key (the staged groups come
 * sorted), which hands the probes their groups in key order.
 */
export const PROBES_ONLY = {
  on: ['set local enable_hashjoin = off', 'set local enable_mergejoin = off'],
  off: ['set local enable_hashjoin to default', 'set local enable_mergejoin to default'],
};

/** The same aggregates computed from scratch (of the facts `where` keeps): what every load must leave (used by tests and checks). */
export function aggregateFromScratch(a: Aggregate, where?: string): string {
  const within = withinOf(a);
  const groups = [...a.groupBy.map((_, i) => String(i + 1)), ...(within ? [within.expr] : [])];
  return `select ${a.groupBy.map((g) => `${g.expr} as ${g.column}`).join(', ')}, count(*) as trips${a.large ? `, ${sizeClass('count(*)')} as size_class` : ''}${within ? `, ${withinValue('count(*)', within.expr)} as ${within.column}` : ''} from ${WAREHOUSE_SCHEMA}.${factTable().id} f${where ? ` where ${where}` : ''} group by ${groups.join(', ')}`;
}
