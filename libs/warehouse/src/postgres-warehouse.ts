import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, types, type CustomTypesConfig, type QueryResult } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ExternalError, QueryError, type Logger, type Progress } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { dayPartitionName, dialectSteps, schemaDdl, withSpan } from './ddl';
import { columnDdl } from './types';
import { DayFilters } from './day-filters';
import { stageParquet } from './parquet-pg';
import { TripKeys } from './trip-filter';
import { createStagedPartition, dayLoadLock, dropStaleStagedTables, requirePostgresVersion, stagedIndexes, swapDayPartition, upgradePostgresSchema, type StagedIndex } from './postgres-partitions';
import { WAREHOUSE_SCHEMA, type LoadRequest, type LoadResult, type QueryOptions, type WarehouseLoader, type WarehouseQueries, type WarehouseTable } from './port';

/**
 * How query results come back, whatever the machine's time zone: dates as 'YYYY-MM-DD' and
 * timestamps as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (as stored; with a zone: in UTC, ISO 8601), 64-bit
 * integers and numerics as numbers when they fit exactly (as text otherwise), JSON parsed.
 */
export const RESULT_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    switch (oid) {
      case types.builtins.DATE:
      case types.builtins.TIMESTAMP:
        return (text: string) => text;
      case types.builtins.TIMESTAMPTZ:
        return (text: string) => {
          const t = new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
          return Number.isNaN(t.getTime()) ? text : t.toISOString(); // 'infinity', BC dates: as PostgreSQL says them
        };
      case types.builtins.INT8:
        return (text: string) => (Number.isSafeInteger(Number(text)) ? Number(text) : text);
      case types.builtins.NUMERIC:
        return (text: string) => (String(Number(text)) === text.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '') ? Number(text) : text);
      default:
        return types.getTypeParser(oid, format);
    }
  },
} as unknown as CustomTypesConfig;

/** The name a question's text is prepared under on a connection (QueryOptions.reuse). */
export const preparedName = (sql: string): string => `trips_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;

/** Questions answered by PostgreSQL (the local warehouse). */
export class PostgresQueries implements WarehouseQueries {
  readonly dialect = 'postgres' as const;
  private client?: Client;

  constructor(protected readonly url: string) {}

  protected async connect(): Promise<Client> {
    if (!this.client) {
      const client = new Client({ connectionString: this.url, types: RESULT_TYPES });
      try {
        await client.connect();
      } catch (e) {
        throw new ExternalError(`cannot connect to the warehouse (TRIPS_PG_URL): ${(e as Error).message}`, { cause: e });
      }
      this.client = client;
    }
    return this.client;
  }

  /** One statement's rows; a statement the database refuses is a QueryError with its message and where. */
  async query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<T[]> {
    const c = await this.connect();
    let result: QueryResult | QueryResult[];
    try {
      // A question asked for reuse is a named statement, prepared once per connection under a name
      // its text gives; PostgreSQL plans its first five runs with their values, then keeps a generic
      // plan if it costs no more.
      const asked = options?.reuse ? { name: preparedName(sql), text: sql, values: params } : { text: sql, values: params };
      result = (await c.query(asked)) as QueryResult | QueryResult[];
    } catch (e) {
      if ((e as { code?: string }).code && (e as { severity?: string }).severity) throw new QueryError(describePgError(e as PgError, sql), { cause: e });
      throw e;
    }
    if (Array.isArray(result)) throw new QueryError(`one statement at a time: this text holds ${result.length}`);
    return result.rows as T[];
  }

  /** Creates or brings up to date the warehouse schema (idempotent DDL; serialised across sessions). */
  async ensureSchema(): Promise<void> {
    const c = await this.connect();
    await requirePostgresVersion(c);
    // Serialised so two tasks creating the schema at once do not race on the catalog.
    await c.query('begin');
    try {
      await c.query('select pg_advisory_xact_lock(7472)');
      await upgradePostgresSchema(c);
      for (const s of schemaDdl('postgres')) await c.query(s);
      await c.query('commit');
    } catch (e) {
      await c.query('rollback');
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.client?.end();
    this.client = undefined;
  }
}

/**
 * The warehouse on PostgreSQL: each load is one transaction that streams the lake rows into a
 * temporary staging table with COPY FROM STDIN, then runs the load's steps (ddl.ts).
 */
export class PostgresWarehouse extends PostgresQueries implements WarehouseLoader {
  constructor(
    url: string,
    private readonly store: ObjectStore,
    private readonly workDir: string,
    private readonly logger?: Logger,
  ) {
    super(url);
  }

  async loadTable(req: LoadRequest): Promise<LoadResult> {
    const { table } = req;
    const columns = table.columns;
    const progress = req.progress;
    const lakeBytes = req.files.reduce((s, f) => s + f.size, 0);
    let stage = progress?.stage(`${table.id}: downloading ${req.files.length} Parquet file(s) of the lake`, { bytes: lakeBytes });
    const staged = await stageParquet(this.store, req.source.bucket, req.files, columns, this.workDir);
    // A day-partitioned table's trips, as they are staged: its day's filter, and what the other days' are asked (day-filters.ts).
    const partitioned = table.warehouse.postgresDayPartitions === true;
    const keys = partitioned ? new TripKeys(staged?.rows ?? 0) : undefined;
    stage?.advance({ rows: staged?.rows ?? 0, bytes: lakeBytes });
    stage?.done();
    const c = await this.connect();
    const result: LoadResult = { table: table.id, staged: staged?.rows ?? 0, inserted: 0, deleted: 0, skipped: 0 };
    const copyStaged = async (into: string, freeze: boolean) => {
      if (!staged) return;
      // The Parquet files are decoded as COPY reads them, in its binary format (parquet-pg.ts).
      const copying = progress?.stage(`${table.id}: copying ${staged.rows.toLocaleString('en-US')} rows of the lake into the staging table`, { rows: staged.rows });
      const copy = `copy ${into} (${columns.map((col) => col.name).join(', ')}) from stdin (format binary${freeze ? ', freeze' : ''})`;
      await pipeline(staged.binary((rows) => copying?.advance({ rows }), keys && { key: 'trip_id', timestamp: 'trip_ts', into: keys }), c.query(copyFrom(copy)));
      copying?.done();
    };
    // A merge's one step needs only the members' count and how many are distinct (without any,
    // PostgreSQL guessed a tenth and hashed them all), which a sample of 3,000 rows tells as well as
    // one of 30,000: 0.02 s instead of 0.1-0.25 s for a day's trip groups, on the path the facts'
    // load waits on (docs/scale.md).
    const merge = table.warehouse.load === 'merge';
    const analyzeStaged = async (rel: string) => {
      if (merge) await c.query('set local default_statistics_target = 10');
      await c.query(`analyze ${rel}`);
      if (merge) await c.query('set local default_statistics_target to default');
    };
    // A day-partitioned table's rows are staged into its day's partition to be (postgres-partitions.ts),
    // in a transaction of their own, committed as a table of the schema that no question reads; its
    // indexes are then built on a connection of their own while the load's transaction runs its steps,
    // which read it as `stage`. Until the load ends it holds the day's lock; if the load fails, the
    // staged table goes.
    const dayLock = partitioned ? dayLoadLock(table.id, req.ds) : undefined;
    let stagedIn: string | undefined;
    let indexes: { built: Promise<unknown>; names: StagedIndex[] } | undefined;
    try {
      if (dayLock) {
        await c.query(dayLock.lock, dayLock.params);
        // Tidying, not the load's work: a leftover that cannot go now (not this role's, say) stays.
        const swept = await dropStaleStagedTables(c, table.id).catch((e: Error) => {
          this.logger?.warn({ err: e.message }, `${table.id}: the staged tables killed loads left stay: ${e.message}`);
          return [];
        });
        if (swept.length > 0) this.logger?.info({ tables: swept }, `${table.id}: dropped ${swept.length} staged table(s) that killed loads left`);
      }
      if (partitioned) {
        await c.query('begin');
        stagedIn = await createStagedPartition(c, table.id, req.ds);
        await copyStaged(stagedIn, true);
        await analyzeStaged(stagedIn);
        await c.query('commit');
      }
      await c.query('begin');
      // NOT NULL as in the table: a lake row without its key fails the COPY, naming the column,
      // instead of finding no owner in the load's joins and being left out. The view of a staged
      // partition goes before the commit.
      if (stagedIn) await c.query(`create temp view stage as select * from ${stagedIn}`);
      else {
        await c.query(`create temp table stage (${columns.map((col) => columnDdl(col, 'postgres')).join(', ')}) on commit drop`);
        await copyStaged('stage', false);
      }
      const steps = dialectSteps(table, 'postgres');
      // The steps' queries of the staged files (the aggregates' groups) run in DuckDB from now on,
      // on its own threads, while PostgreSQL runs the steps before them.
      const groupSteps = steps.flatMap((s) => (s.stagedGroups ? [s.stagedGroups] : []));
      const results = staged && groupSteps.length > 0 ? staged.grouped(groupSteps) : [];
      const grouped = new Map(results.map((r, i) => [groupSteps[i].table, r] as const));
      // Statistics for the steps' plans.
      if (!stagedIn) await analyzeStaged('stage');
      await req.after;
      // Staged first, then the lock: readers of the table wait only for the swap, not the COPY. One
      // load per table at a time: concurrent loads of two days must not both see a trip as new.
      await c.query(`lock table ${WAREHOUSE_SCHEMA}.${table.id} in share row exclusive mode`);
      // The load's work tables live in a schema of its own (postgresForm, ddl.ts), gone at the end.
      const scratch = `load_${randomBytes(8).toString('hex')}`;
      await c.query(`create schema ${scratch}`);
      await c.query(`set local search_path = ${scratch}, public`);
      const filters = partitioned ? new DayFilters(c, table.id) : undefined;
      if (filters) {
        const filling = progress?.stage(`${table.id}: the trip filters of the days that have none (a warehouse older than them)`);
        const filled = await filters.fillMissing((ds, trips) => filling?.advance({ rows: trips }));
        if (filled.length > 0) this.logger?.info({ days: filled }, `${table.id}: trip filters made for ${filled.length} day(s)`);
        filling?.done();
      }
      // The touched trips' timestamp span, once a step has made it (withSpan writes it into the steps after).
      let bounds: { lo: string | null; hi: string | null } | undefined;
      // The staged partition's indexes, built on a second connection from the aggregates' first
      // step on: the aggregates' upserts run on one core, the builds on the other. Started earlier,
      // they slowed what runs on both cores: the trip groups' merge beside the facts' COPY, and the
      // steps that find the trips other days hold (docs/scale.md).
      const startIndexBuilds = async () => {
        if (!stagedIn || indexes) return;
        const names = await stagedIndexes(c, table.id, req.ds);
        const built = this.buildIndexes(names.map((x) => x.create));
        built.catch(() => undefined); // awaited by the swap, or below if the load fails first
        indexes = { built, names };
      };
      for (const [i, step] of steps.entries()) {
        const part = step.dayPartition;
        if (step.stagedGroups || part) await startIndexBuilds();
        stage = progress?.stage(`${table.id}: step ${i + 1} of ${steps.length}: ${part ? `swapping in ${WAREHOUSE_SCHEMA}.${dayPartitionName(part.table, req.ds)} once its indexes are built` : describeStep(step.sql)}`);
        if (step.stagedGroups) {
          const { table: work, columns: cols } = step.stagedGroups;
          await c.query(step.sql);
          const rows = await grouped.get(work);
          if (rows) await pipeline(Readable.from(rows, { objectMode: false }), c.query(copyFrom(`copy ${work} (${cols.map((col) => col.name).join(', ')}) from stdin (format binary)`)));
        } else if (part) {
          const swapped = await swapDayPartition(c, part, req.ds, step.sql, result.staged, indexes);
          if (part.count) {
            result.inserted += swapped.inserted;
            result.deleted += swapped.deleted;
          }
        } else {
          let text = step.sql;
          if (step.candidates) {
            if (!filters || !keys) throw new Error(`${table.id}: a step reads fact_candidates, which only a day-partitioned table's load makes`);
            const asking = progress?.stage(`${table.id}: asking the trip filters of the days whose trips' span meets the load's`, { rows: keys.length });
            const asked = await filters.candidates(req.ds, keys, bounds?.lo ?? null, bounds?.hi ?? null);
            asking?.advance({ rows: keys.length });
            asking?.done();
            this.logger?.info(
              asked,
              `${table.id}: ${asked.candidates} trip(s) another day may hold, by ${asked.days} day filter(s): ` +
                (asked.probe ? 'read one by one' : `read by matching the ${asked.spanTrips} fact(s) of those days`),
            );
            if (!asked.probe) text = step.candidates.join;
          }
          const sql = bounds ? withSpan(text, bounds.lo, bounds.hi) : text;
          const r = await c.query(sql, sql.includes('$1') ? [req.ds] : []);
          if (step.count) result[step.count] += r.rowCount ?? 0;
          if (step.span) {
            [bounds] = (await c.query<{ lo: string | null; hi: string | null }>('select lo, hi from touched_span')).rows;
          }
        }
        stage?.done();
      }
      if (filters && keys) await filters.write(req.ds, keys);
      result.skipped = result.staged - result.inserted;
      // With the views of it the steps made (touched_trips).
      if (partitioned) await c.query('drop view stage cascade');
      await c.query(`drop schema ${scratch} cascade`);
      await c.query('commit');
    } catch (e) {
      await c.query('rollback').catch(() => undefined);
      if (stagedIn) {
        // Its indexes' builds end first: the DROP would wait for them anyway.
        await indexes?.built.catch(() => undefined);
        await c.query(`drop table if exists ${stagedIn}`).catch(() => undefined);
      }
      throw new ExternalError(`loading ${WAREHOUSE_SCHEMA}.${table.id} for ds=${req.ds} failed, nothing changed: ${(e as Error).message}`, { cause: e });
    } finally {
      await staged?.dispose();
      if (dayLock) await c.query(dayLock.unlock, dayLock.params).catch(() => undefined);
    }
    this.logger?.info(result, `loaded ${WAREHOUSE_SCHEMA}.${table.id}`);
    return result;
  }

  /**
   * VACUUM of the merged dimensions, once the day's loads have committed. The local PostgreSQL runs
   * only while a command does, so autovacuum never gets a turn: without it no page of a dimension
   * is ever marked all-visible, and the next load's merge, probing the primary key for each staged
   * member, also reads each member it finds from the table to check it is visible. With the
   * visibility map set it reads the key alone. Once the map is set, a vacuum reads only the pages
   * the load added (the first one reads the whole table); the merges never delete or update, so
   * there is nothing to clean from the keys. It also keeps the tables' row counts current for the
   * planner. The facts' day partitions need none: COPY FREEZE writes them all-visible.
   */
  async afterLoads(tables: readonly WarehouseTable[], progress?: Progress): Promise<void> {
    const merged = tables.filter((t) => t.warehouse.load === 'merge');
    if (merged.length === 0) return;
    const c = await this.connect();
    const stage = progress?.stage(`vacuuming ${merged.length} dimension(s): ${merged.map((t) => t.id).join(', ')}`);
    for (const t of merged) await c.query(`vacuum ${WAREHOUSE_SCHEMA}.${t.id}`);
    stage?.done();
  }

  /** Runs `statements` (a staged partition's CREATE INDEX) one after another on a connection of their own, closed at the end. */
  private async buildIndexes(statements: readonly string[]): Promise<void> {
    if (statements.length === 0) return;
    const b = new Client({ connectionString: this.url });
    await b.connect();
    try {
      for (const sql of statements) await b.query(sql);
    } finally {
      await b.end();
    }
  }
}

interface PgError extends Error {
  code: string;
  severity: string;
  position?: string;
  hint?: string;
  detail?: string;
}

/** PostgreSQL's message as psql shows it: severity and message, the statement's line with a caret under the position, detail and hint. */
export function describePgError(e: PgError, sql: string): string {
  const lines = [`${e.severity}: ${e.message}`];
  const position = Number(e.position);
  if (position > 0) {
    const before = sql.slice(0, position - 1);
    const lineNo = before.split('\n').length;
    const line = sql.split('\n')[lineNo - 1];
    const column = before.length - before.lastIndexOf('\n') - 1;
    const prefix = `LINE ${lineNo}: `;
    lines.push(`${prefix}${line}`, `${' '.repeat(prefix.length + column)}^`);
  }
  if (e.detail) lines.push(`DETAIL: ${e.detail}`);
  if (e.hint) lines.push(`HINT: ${e.hint}`);
  return lines.join('\n');
}


/** A load step for people: its statement's first words (`delete from <schema>.<table>`, `create temp table <name>`). */
function describeStep(sql: string): string {
  return sql.replace(/\s+/g, ' ').split(/ (?:select|as|set|where|\()/)[0].trim();
}
