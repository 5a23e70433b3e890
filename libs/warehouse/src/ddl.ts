import type { WarehouseDialect as Dialect } from '@trips/core';
import { CATALOG, warehouseTables, type Column, type TableDef } from '@trips/pipeline';
import { AGGREGATES, aggregateDdl, aggregateDeltaStatements, deltaSelect, factTable, PROBES_ONLY, stagedGroups } from './aggregates';
import { WAREHOUSE_SCHEMA, type WarehouseTable } from './port';
import { columnDdl, fillWhenEmpty, postgresIndexDdl, sqlType } from './types';

export { sqlType };

const S = WAREHOUSE_SCHEMA;

/** Redshift's distribution and sort key clause of a table (docs/warehouse.md explains the choices). */
function redshiftLayout(r: WarehouseTable['warehouse']['redshift']): string {
  const dist = r.diststyle === 'key' ? `diststyle key distkey (${r.distKey})` : `diststyle ${r.diststyle}`;
  const sort = r.sortKey?.length ? ` ${r.sortKey.length > 1 ? 'compound ' : ''}sortkey (${r.sortKey.join(', ')})` : '';
  return ` ${dist}${sort}`;
}

/**
 * A table's CREATE statement (idempotent). On PostgreSQL a table with day partitions is the
 * partitioned parent, and each day's partition is built by that day's load (postgres-partitions.ts).
 *
 * That parent has no primary key. PostgreSQL wants the partition column in every unique index, so
 * its key would be (key, ds), unique only within a day: it could not refuse a trip held by two
 * days, which the load itself prevents (every trip has one owner, and a day's partition is built
 * from distinct staged trips). Nothing reads it either (the load finds its trips' rows by day,
 * timestamp and key; the questions read other indexes), yet it was 41 MB per million trips and an
 * index build in every load. Redshift keeps its (informational) primary key; the contract still
 * checks the key in the lake.
 */
export function tableDdl(t: WarehouseTable, dialect: Dialect): string {
  const cols = t.columns.map((c) => `  ${columnDdl(c, dialect)}`);
  if (t.warehouse.load === 'replace-partition') cols.push('  ds date not null');
  const partitioned = dialect === 'postgres' && t.warehouse.postgresDayPartitions === true;
  if (!partitioned) cols.push(`  primary key (${t.key.join(', ')})`);
  const layout = dialect === 'redshift' ? redshiftLayout(t.warehouse.redshift) : partitioned ? ' partition by list (ds)' : '';
  return `create table if not exists ${S}.${t.id} (\n${cols.join(',\n')}\n)${layout}`;
}

/** The name in the schema of the partition of a day-partitioned table (named `table`) holding one ds (YYYY-MM-DD). */
export function dayPartitionName(table: string, ds: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(ds)) throw new Error(`not a ds: ${ds}`);
  return `${table}_d${ds.replace(/-/g, '')}`;
}

/** The ds (YYYY-MM-DD) whose partition of `table` is named `name` (dayPartitionName), or undefined for another name. */
export function dayOfPartition(table: string, name: string): string | undefined {
  const m = name.startsWith(`${table}_d`) ? /^(\d{4})(\d{2})(\d{2})$/.exec(name.slice(table.length + 2)) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** The redelivery record's columns: which day delivered which trip, and the trip's timestamp. */
export const DELIVERY_COLUMNS = ['ds', 'trip_id', 'trip_ts'];

/**
 * The redelivery record's CREATE statement. It holds the deliveries of a trip by the days that do
 * not own it (the fact row's ds is the owner's delivery): usually a few, the cross-day duplicates,
 * so one unpartitioned table, looked up by day and by the span of a load's trip timestamps.
 */
export function redeliveryDdl(dialect: Dialect, catalog: readonly TableDef[] = CATALOG): string {
  const tripId = factTable(catalog).columns.find((c) => c.name === 'trip_id');
  if (!tripId) throw new Error('the facts have no trip_id column: the redelivery record keys on it');
  const layout = dialect === 'redshift' ? redshiftLayout({ diststyle: 'key', distKey: 'trip_id', sortKey: ['ds', 'trip_id'] }) : '';
  return `create table if not exists ${S}.trip_redelivery (\n  ds date not null,\n  trip_id ${sqlType(tripId, dialect)} not null,\n  trip_ts timestamp not null,\n  primary key (ds, trip_id)\n)${layout}`;
}

/**
 * PostgreSQL with day partitions: per day, a Bloom filter (trip-filter.ts) of the trips its latest
 * batch delivered, and the span of their timestamps (lo, hi; null when it delivered none). A trip
 * the facts hold under a day was delivered by that day's latest batch (it is the earliest day
 * delivering it), so the day's filter holds it: a load finds the held rows of its trips by asking
 * the filters of the days whose span meets its own, and reads only the rows they name (a few
 * thousand of a million), where matching every fact of the span read a few times the batch (each
 * day's trips span a week): 1.2-1.8 s of a load once the span was full, and nothing into an empty
 * warehouse. Written by each load of the day, in its transaction; a day without one (a warehouse
 * older than the filters) gets it from its deliveries at the next load.
 */
export const TRIP_DAY_FILTER_DDL = `create table if not exists ${S}.trip_day_filter (
  ds date primary key,
  trips integer not null,
  lo timestamp,
  hi timestamp,
  bits bytea not null
)`;

/** A column of a merged table whose distinct values the warehouse keeps (the catalog's `distinctValues`), in the table `name`. */
export interface ValueSet {
  table: string;
  column: Column;
  name: string;
}

/** The table of the distinct values of `column` of `table`. */
export const valueSetName = (table: string, column: string) => `${table}_${column}_values`;

/** The catalog's value sets, table by table. */
export function valueSets(catalog: readonly TableDef[] = CATALOG): ValueSet[] {
  return warehouseTables(catalog).flatMap((t) =>
    (t.warehouse.distinctValues ?? []).map((name) => {
      const column = t.columns.find((c) => c.name === name);
      if (!column) throw new Error(`${t.id}: distinctValues names ${name}, which is not one of its columns`);
      return { table: t.id, column, name: valueSetName(t.id, name) };
    }),
  );
}

/**
 * A value set's table, one row per value, and its filling from its table when it is empty (a
 * warehouse older than it, whose table then has the values; from then on each load adds its own:
 * loadSteps).
 */
function valueSetDdl(v: ValueSet, dialect: Dialect): string[] {
  const target = `${S}.${v.name}`;
  const col = v.column.name;
  return [
    `create table if not exists ${target} (\n  ${columnDdl({ ...v.column, nullable: false }, dialect)},\n  primary key (${col})\n)${dialect === 'redshift' ? ' diststyle all' : ''}`,
    fillWhenEmpty(dialect, target, col, (where) => `select distinct ${col} from ${S}.${v.table} where ${col} is not null${where ? ` and ${where}` : ''}`),
  ];
}

/** Idempotent DDL for the warehouse schema, one statement per element, for the tables of the catalog. */
export function schemaDdl(dialect: Dialect, catalog: readonly TableDef[] = CATALOG): string[] {
  const statements = [`create schema if not exists ${S}`];
  const tables = warehouseTables(catalog);
  for (const t of tables) statements.push(tableDdl(t, dialect));
  for (const v of valueSets(catalog)) statements.push(...valueSetDdl(v, dialect));
  // Which day delivered which trip: the facts hold each delivered trip once, under its earliest day
  // (its owner), and trip_redelivery the deliveries by the other days. The trip's timestamp too: a
  // trip_id is a hash of the trip's fields, its timestamp among them, so every delivery and fact row
  // of a trip has the same trip_ts, and a load finds the ones of its trips within the span of their
  // timestamps instead of among all the warehouse holds. (A warehouse whose facts came before the
  // record knows of no other deliveries: an empty record says just that.)
  statements.push(redeliveryDdl(dialect, catalog));
  if (dialect === 'postgres') statements.push(TRIP_DAY_FILTER_DDL);
  statements.push(...aggregateDdl(dialect));
  if (dialect === 'postgres') {
    for (const t of tables) statements.push(...(t.warehouse.postgresIndexes ?? []).map((cols) => postgresIndexDdl(t.id, cols)));
    statements.push(postgresIndexDdl('trip_redelivery', ['trip_ts']));
  }
  return statements;
}

/** One statement of a table load. `$1` is the ds; `count` says which of the load's figures its row count is. */
export interface LoadStep {
  sql: string;
  count?: 'inserted' | 'deleted';
  /**
   * PostgreSQL with day partitions: the staging table is the day's new partition of `table` (the
   * adapter creates it as a table of the schema, `stage` a view of it). `sql` deletes from it the
   * staged rows the day does not keep; the adapter then swaps it in for the partition the day had.
   * Every row of that one must go by then: those `goes` (about their trip_owner row `o`) keeps, or
   * all of them without it. `count`: the rows are the load's figures.
   */
  dayPartition?: { table: string; goes?: string; count: boolean };
  /** A statement for one dialect only (loadSteps says which differ); `dialectSteps` picks a dialect's. */
  only?: Dialect;
  /** The step creates `touched_span`: PostgreSQL reads its bounds then, and writes them into the steps after it (withSpan). */
  span?: true;
  /**
   * PostgreSQL with day partitions: the step reads `fact_candidates` (trip_id, trip_ts, ds), which the adapter
   * creates and fills first: the touched trips that another day's filter (trip_day_filter) says the
   * day may hold, one row a day. `join`: the same table made without them, by matching every fact of
   * the touched span, which the adapter runs instead when the filters name so many trips that
   * reading each one costs more (day-filters.ts, probeCost).
   */
  candidates?: { join: string };
  /**
   * PostgreSQL: `sql` creates the work table `table`, which the adapter then fills with the rows of
   * `select`, a DuckDB query of the staged lake files (the relation `lake`) yielding `columns` in
   * order (aggregates.ts, stagedGroups).
   */
  stagedGroups?: { table: string; select: string; columns: readonly Column[] };
}

/** The bounds of the touched trips' timestamps as the shared steps read them: subqueries of `touched_span`. */
const SPAN = { lo: '(select lo from touched_span)', hi: '(select hi from touched_span)' };
const WORK_TABLE = /^create temp table (\w+) on commit drop as /;

/**
 * PostgreSQL's form of a load step: a work table (`create temp table … on commit drop as`) is an
 * unlogged table, created in the load's own schema, first on its search path (the adapter creates it
 * and drops it before the commit). Parallel workers read it, where they cannot read a temporary
 * table, so the joins of a load over the facts run on both cores.
 */
function postgresForm(step: LoadStep): LoadStep {
  const form = (sql: string) => sql.replace(WORK_TABLE, 'create unlogged table $1 as ');
  return { ...step, sql: form(step.sql), ...(step.candidates ? { candidates: { join: form(step.candidates.join) } } : {}) };
}

/**
 * A step with the touched span's bounds (timestamps as PostgreSQL writes them, or null for an empty
 * span) in place of the subqueries that read them: the planner then knows how many fact rows the span
 * holds, where a subquery's value is unknown to it and it guessed a few thousand rows per partition
 * (and hashed the larger side of the join).
 */
export function withSpan(sql: string, lo: string | null, hi: string | null): string {
  const literal = (ts: string | null) => {
    if (ts !== null && !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$/.test(ts)) throw new Error(`not a timestamp: ${ts}`);
    return ts === null ? 'cast(null as timestamp)' : `timestamp '${ts}'`;
  };
  return sql.replaceAll(SPAN.lo, literal(lo)).replaceAll(SPAN.hi, literal(hi));
}

/**
 * Whether the fact row of a trip (its `trip_owner` row `o`) goes in a load of day `$1`: a held trip
 * that no day delivers any more or that this day now owns (rewritten from the stage). Usually a few
 * (cross-day duplicates and a rerun's trips), so PostgreSQL probes them by key instead of reading
 * the span.
 */
const FACT_ROW_GOES = 'o.held_ds is not null and (o.ds is null or o.ds = cast($1 as date))';

/**
 * Steps in two forms when PostgreSQL partitions the facts by day: the partitioned form for
 * PostgreSQL and the plain one for Redshift; otherwise the plain one for both.
 */
function dialects(t: WarehouseTable, steps: (partitioned: boolean) => LoadStep[]): LoadStep[] {
  if (!t.warehouse.postgresDayPartitions) return steps(false);
  return [...steps(true).map((s) => ({ ...s, only: 'postgres' as const })), ...steps(false).map((s) => ({ ...s, only: 'redshift' as const }))];
}

/**
 * What a load runs after the staging table `stage` holds the lake rows, in one transaction. A step
 * without `only` is run by both dialects (temporary tables are dropped with the session on
 * Redshift, at commit on PostgreSQL); where they differ, each has its own form: PostgreSQL probes
 * keys with ON CONFLICT, which Redshift lacks, and builds day partitions, which Redshift has no use
 * for (its sort key and zone maps do that work).
 *
 * Dimensions (`merge`): insert the members whose key is not there yet.
 *
 * Facts (`replace-partition`): the warehouse holds exactly the distinct trips of the latest batch
 * of each day, whatever order days are loaded and reloaded in. Which day delivered which trip is
 * known from the facts (a trip's fact row has the day that owns it: the earliest delivering it) and
 * `trip_redelivery` (its deliveries by other days, usually a few). The day's deliveries are replaced
 * by the staged ones; every trip the day delivered before or delivers now is then owned by the
 * earliest day delivering it: trips no day delivers any more are deleted, trips owned by this day
 * are (re)written from the stage, trips owned by another day stay and take that day as their ds,
 * and the touched trips' redeliveries are written again. Each aggregate gets the difference (rows
 * removed, rows added), so the work is the size of the batch.
 */
export function loadSteps(t: WarehouseTable): LoadStep[] {
  const target = `${S}.${t.id}`;
  const cols = t.columns.map((c) => c.name);
  const key = t.key;
  if (t.warehouse.load === 'merge') {
    const staged = `${cols.map((c) => `s.${c}`).join(', ')} from stage s`;
    const notLoaded = `not exists (select 1 from ${target} x where ${key.map((k) => `x.${k} = s.${k}`).join(' and ')})`;
    return [
      // PostgreSQL probes each staged member's key in the dimension's primary key, in key order, so
      // that neighbouring probes and inserts land on the same B-tree pages (hashed keys otherwise
      // scatter them), and inserts the members not found. Left to itself the planner made NOT EXISTS
      // a hash anti-join over the whole dimension, which grows with the warehouse (the trip groups
      // about a third as fast as the facts): hash and merge joins are off for this statement alone
      // (PROBES_ONLY, as for the aggregates' MERGEs).
      // ON CONFLICT DO NOTHING, which probed the same way, cost 10-15% more (a speculative insert per
      // member), and probing in the staged order instead of the key's twice as much (docs/scale.md).
      // The load holds the table's lock (share row exclusive), so no other load inserts meanwhile;
      // DISTINCT ON keeps one of a member staged twice. Redshift has no ON CONFLICT either.
      ...PROBES_ONLY.on.map((sql) => ({ sql, only: 'postgres' as const })),
      {
        sql: `insert into ${target} (${cols.join(', ')}) select ${cols.map((c) => `s.${c}`).join(', ')} from (select distinct on (${key.join(', ')}) * from stage order by ${key.join(', ')}) s where ${notLoaded}`,
        count: 'inserted',
        only: 'postgres',
      },
      ...PROBES_ONLY.off.map((sql) => ({ sql, only: 'postgres' as const })),
      { sql: `insert into ${target} (${cols.join(', ')}) select distinct ${staged} where ${notLoaded}`, count: 'inserted', only: 'redshift' },
      // The staged members' values that the value sets lack (a few distinct values of many members).
      ...(t.warehouse.distinctValues ?? []).map((c) => {
        const values = `${S}.${valueSetName(t.id, c)}`;
        return { sql: `insert into ${values} (${c}) select distinct s.${c} from stage s where s.${c} is not null and not exists (select 1 from ${values} v where v.${c} = s.${c})` };
      }),
    ];
  }
  const day = 'cast($1 as date)';
  // Every row a load reads or changes of the warehouse's facts and redeliveries belongs to a touched
  // trip, and so lies within the span of the touched trips' timestamps: each statement on them says
  // so, and reads that span (an index range) rather than the whole table. The work follows the
  // batch, not the warehouse.
  const within = (alias: string) => `${alias}.trip_ts between ${SPAN.lo} and ${SPAN.hi}`;
  const redeliveries = `${S}.trip_redelivery`;
  const goes = FACT_ROW_GOES;
  // The rows the day keeps: with day partitions the stage is the day's new partition, which keeps
  // the staged trips the day owns (all but the few an earlier day delivers too) instead of copying
  // them a second time.
  const added = dialects(t, (partitioned): LoadStep[] =>
    partitioned
      ? [{ sql: `delete from stage s using trip_owner o where o.trip_id = s.trip_id and o.ds <> ${day}`, dayPartition: { table: t.id, goes, count: true } }]
      : [{ sql: `insert into ${target} (${cols.join(', ')}, ds) select ${cols.map((c) => `s.${c}`).join(', ')}, ${day} from stage s join trip_owner o on o.trip_id = s.trip_id where o.ds = ${day}`, count: 'inserted' }],
  );
  // The trips this day delivered before and no longer does (those it owns are its fact rows, the
  // others its redeliveries): a day's first load has none.
  const unstaged = (columns: string) =>
    `select ${columns} from (select trip_id, trip_ts from ${target} where ds = ${day} union select trip_id, trip_ts from ${redeliveries} where ds = ${day}) x ` +
    `where not exists (select 1 from stage s where s.trip_id = x.trip_id and s.trip_ts = x.trip_ts)`;
  return [
    // The trips this day delivers now (the stage's, distinct: the lake's key) and those it delivered
    // before and no longer does. The stage is read as it is, not grouped. With day partitions
    // (PostgreSQL) the stage is a table of its own already: the touched trips are a view of it and
    // of the trips no longer delivered, where copying a million staged keys took 0.4 s and their
    // statistics 0.1 s. (The view depends on the `stage` view, and goes with it.)
    ...dialects(t, (partitioned): LoadStep[] =>
      partitioned
        ? [
            { sql: `create temp table touched_unstaged on commit drop as ${unstaged('x.trip_id, x.trip_ts')}` },
            { sql: 'analyze touched_unstaged' },
            { sql: 'create temp view touched_trips as select trip_id, trip_ts, 1 as staged from stage union all select trip_id, trip_ts, 0 as staged from touched_unstaged' },
          ]
        : [{ sql: `create temp table touched_trips on commit drop as select trip_id, trip_ts, 1 as staged from stage union all ${unstaged('x.trip_id, x.trip_ts, 0 as staged')}` }],
    ),
    ...(t.warehouse.postgresDayPartitions ? [] : [{ sql: 'analyze touched_trips', only: 'postgres' as const }]),
    { sql: 'create temp table touched_span on commit drop as select min(trip_ts) as lo, max(trip_ts) as hi from touched_trips', span: true },
    // The touched trips' fact rows, read once: their owners' deliveries here, and the rows a load
    // takes out (fact_removed) below. With day partitions (PostgreSQL): the day's own, and those the
    // other days' filters name (fact_candidates), each read by its day, timestamp and key, unless
    // they name so many that the adapter runs `join`; otherwise (and then) every fact of the span is
    // matched.
    ...dialects(t, (partitioned) => {
      const spanJoin = `create temp table touched_facts on commit drop as select f.* from ${target} f join touched_trips x on x.trip_id = f.trip_id and x.trip_ts = f.trip_ts where ${within('f')}`;
      return [
        partitioned
          ? {
              sql:
                `create temp table touched_facts on commit drop as select f.* from ${target} f where f.ds = ${day} ` +
                // LATERAL, kept from being flattened (offset 0): a probe per candidate, of the one
                // partition its day names (pruned as it runs), where the planner hashed them against
                // every partition once they were a few thousand.
                `union all select f.* from fact_candidates c cross join lateral (select * from ${target} f where f.ds = c.ds and f.trip_ts = c.trip_ts and f.trip_id = c.trip_id offset 0) f`,
              candidates: { join: spanJoin },
            }
          : { sql: spanJoin },
      ];
    }),
    // Every delivery of a touched trip before this load: the owner's (its fact row, is_fact = 1) and
    // the other days' (its redeliveries).
    {
      sql: `create temp table touched_deliveries on commit drop as select trip_id, trip_ts, ds, 1 as is_fact from touched_facts union all select r.trip_id, r.trip_ts, r.ds, 0 as is_fact from ${redeliveries} r join touched_trips x on x.trip_id = r.trip_id and x.trip_ts = r.trip_ts where ${within('r')}`,
    },
    // A touched trip any day delivered before this load has a fact row, under `held_ds`. Its owner
    // after the load (`ds`): this day if the stage holds it and no earlier day delivers it, else the
    // earliest other day delivering it, else none (it goes). `redelivered`: this day redelivered it
    // before the load (1) or not (0).
    //
    // With day partitions (PostgreSQL) only the touched trips some day delivered before have an
    // owner row (an inner join; every trip no longer delivered was delivered before): a staged trip
    // without one is owned by this day, held nowhere, and changes nothing below but the day's new
    // partition, which keeps it. A day's first load then writes a few rows here, not a million.
    ...dialects(t, (partitioned): LoadStep[] => [
      {
        sql:
          `create temp table trip_owner on commit drop as select t.trip_id, t.trip_ts, t.staged, h.held_ds, case when t.staged = 1 and (h.other_ds is null or h.other_ds > ${day}) then ${day} else h.other_ds end as ds, coalesce(h.redelivered, 0) as redelivered ` +
          `from touched_trips t ${partitioned ? 'join' : 'left join'} (select trip_id, max(case when is_fact = 1 then ds end) as held_ds, min(case when ds <> ${day} then ds end) as other_ds, max(case when is_fact = 0 and ds = ${day} then 1 else 0 end) as redelivered from touched_deliveries group by trip_id) h on h.trip_id = t.trip_id`,
      },
    ]),
    { sql: 'analyze trip_owner', only: 'postgres' },
    // The touched trips' redeliveries after the load are their deliveries by the other days and, if
    // staged, by this one, but the owner's. Only what changes is written, told apart by the owners
    // (no join against the record as it was): a redelivery goes if its trip goes, if its day now
    // owns the trip, or if it is this day's and the day no longer redelivers the trip; one comes
    // for an owner that no longer owns its trip, and for this day where it redelivers a trip it
    // did not before. A rerun of a day then writes nothing here. (Deleting every touched trip's
    // redeliveries and inserting them again took 13 s for a rerun of a day redelivering 1M trips,
    // and more with every day that redelivered them too.)
    {
      sql: `create temp table redelivery_gone on commit drop as select d.ds, d.trip_id from touched_deliveries d join trip_owner o on o.trip_id = d.trip_id where d.is_fact = 0 and (o.ds is null or (d.ds <> ${day} and d.ds = o.ds) or (d.ds = ${day} and (o.staged = 0 or o.ds = ${day})))`,
    },
    { sql: `delete from ${redeliveries} using redelivery_gone g where ${within(redeliveries)} and ${redeliveries}.trip_id = g.trip_id and ${redeliveries}.ds = g.ds` },
    // The owner that no longer owns its trip delivered it as its fact row, under `held_ds`: read from
    // the owners alone. (Joined back to the deliveries' fact rows, the statement hashed every touched
    // trip to find usually none: 1.3 s of a day that redelivers another whole.)
    ...[true, false].map(
      (postgres): LoadStep => ({
        sql:
          `insert into ${redeliveries} (${DELIVERY_COLUMNS.join(', ')}) select o.held_ds, o.trip_id, o.trip_ts from trip_owner o where o.held_ds <> ${day} and o.ds <> o.held_ds ` +
          `union all select ${day}, o.trip_id, o.trip_ts from trip_owner o where o.staged = 1 and o.ds <> ${day} and o.redelivered = 0` +
          // PostgreSQL: in key order, neighbouring inserts land on the same pages of the record's key.
          (postgres ? ' order by 1, 2' : ''),
        only: postgres ? 'postgres' : 'redshift',
      }),
    ),
    // The rows the load takes out (-1), kept apart as well: the groups a load may leave empty are
    // among theirs, usually none (on PostgreSQL each aggregate's sweep read the whole fact_delta,
    // a million rows, for them: 0.45 s a load).
    { sql: `create temp table fact_removed on commit drop as select ${deltaSelect(-1)} from touched_facts f join trip_owner o on o.trip_id = f.trip_id and o.trip_ts = f.trip_ts where ${goes}` },
    // PostgreSQL adds every staged row to the aggregates (grouped by DuckDB: stagedGroups), so it
    // takes out the staged rows the load does not keep, the trips an earlier day owns (usually a
    // few): the same rows as the stage loses below. Redshift adds the kept rows (`fact_delta`).
    { sql: `insert into fact_removed select ${deltaSelect(-1)} from stage f where exists (select 1 from trip_owner o where o.trip_id = f.trip_id and o.ds <> ${day})`, only: 'postgres' },
    { sql: 'create temp table fact_delta on commit drop as select * from fact_removed', only: 'redshift' },
    // No alias on the target of DELETE and UPDATE: Redshift takes none there. With day partitions
    // (PostgreSQL) the rows of the day's own partition are not deleted one by one: the partition is
    // replaced whole below, once the rows another day now owns have moved out of it.
    ...dialects(t, (partitioned) => [
      {
        sql: `delete from ${target} where ${within(target)}${partitioned ? ` and ${target}.ds <> ${day}` : ''} and trip_id in (select o.trip_id from trip_owner o where ${goes})`,
        count: 'deleted',
      },
    ]),
    {
      sql: `update ${target} set ds = o.ds from trip_owner o where ${within(target)} and ${target}.trip_id = o.trip_id and ${target}.trip_ts = o.trip_ts and o.held_ds is not null and o.ds <> ${day} and o.ds <> o.held_ds`,
    },
    ...added.filter((s) => !s.dayPartition),
    // Redshift: the rows added, those the day owns.
    { sql: `insert into fact_delta select ${deltaSelect(1)} from stage f join trip_owner o on o.trip_id = f.trip_id where o.ds = ${day}`, only: 'redshift' },
    ...AGGREGATES.map((a): LoadStep => {
      const { ddl, ...groups } = stagedGroups(a);
      return { sql: ddl, stagedGroups: groups, only: 'postgres' };
    }),
    ...aggregateDeltaStatements('postgres').map((sql) => ({ sql, only: 'postgres' as const })),
    ...aggregateDeltaStatements('redshift').map((sql) => ({ sql, only: 'redshift' as const })),
    // The day's new partition goes in last: the aggregates read the staged groups and the removed
    // rows, not the partition, and run meanwhile on one core while its indexes are built on a second
    // connection (PostgresWarehouse), which the swap then waits for.
    ...added.filter((s) => s.dayPartition),
  ];
}

/** The steps one dialect runs, in order: those for both and its own. */
export function dialectSteps(t: WarehouseTable, dialect: Dialect): LoadStep[] {
  const steps = loadSteps(t).filter((s) => (s.only ?? dialect) === dialect);
  return dialect === 'postgres' ? steps.map(postgresForm) : steps;
}
