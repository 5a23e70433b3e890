import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ExternalError, type Logger } from '@trips/core';
import type { ObjectStore } from '@trips/storage';
import { loadSteps, schemaDdl, sqlType } from './ddl';
import { parquetToCsv } from './parquet-csv';
import { WAREHOUSE_SCHEMA, type LoadRequest, type LoadResult, type WarehouseLoader, type WarehouseQueries } from './port';

/** Questions answered by PostgreSQL (the local warehouse). */
export class PostgresQueries implements WarehouseQueries {
  readonly dialect = 'postgres' as const;
  private client?: Client;

  constructor(private readonly url: string) {}

  protected async connect(): Promise<Client> {
    if (!this.client) {
      const client = new Client({ connectionString: this.url });
      try {
        await client.connect();
      } catch (e) {
        throw new ExternalError(`cannot connect to the warehouse (TRIPS_PG_URL): ${(e as Error).message}`, { cause: e });
      }
      this.client = client;
    }
    return this.client;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    const c = await this.connect();
    return (await c.query(sql, params)).rows as T[];
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

  async ensureSchema(): Promise<void> {
    const c = await this.connect();
    // Serialised so two tasks creating the schema at once do not race on the catalog.
    await c.query('begin');
    try {
      await c.query('select pg_advisory_xact_lock(7472)');
      for (const s of schemaDdl('postgres')) await c.query(s);
      await c.query('commit');
    } catch (e) {
      await c.query('rollback');
      throw e;
    }
  }

  async loadTable(req: LoadRequest): Promise<LoadResult> {
    const { table } = req;
    const columns = table.columns;
    const staged = await parquetToCsv(this.store, req.source.bucket, req.files, columns.map((c) => c.name), this.workDir);
    const c = await this.connect();
    const result: LoadResult = { table: table.id, staged: staged?.rows ?? 0, inserted: 0, deleted: 0, skipped: 0 };
    await c.query('begin');
    try {
      await c.query(`create temp table stage (${columns.map((col) => `${col.name} ${sqlType(col, 'postgres')}`).join(', ')}) on commit drop`);
      if (staged) await pipeline(createReadStream(staged.path), c.query(copyFrom(`copy stage (${columns.map((col) => col.name).join(', ')}) from stdin (format csv)`)));
      await c.query('analyze stage');
      // Staged first, then the lock: readers of the table wait only for the swap, not the COPY. One
      // load per table at a time: concurrent loads of two days must not both see a trip as new.
      await c.query(`lock table ${WAREHOUSE_SCHEMA}.${table.id} in share row exclusive mode`);
      for (const step of loadSteps(table)) {
        const r = await c.query(step.sql, step.sql.includes('$1') ? [req.ds] : []);
        if (step.count) result[step.count] += r.rowCount ?? 0;
      }
      result.skipped = result.staged - result.inserted;
      await c.query('commit');
    } catch (e) {
      await c.query('rollback').catch(() => undefined);
      throw new ExternalError(`loading ${WAREHOUSE_SCHEMA}.${table.id} for ds=${req.ds} failed, nothing changed: ${(e as Error).message}`, { cause: e });
    } finally {
      await staged?.dispose();
    }
    this.logger?.info(result, `loaded ${WAREHOUSE_SCHEMA}.${table.id}`);
    return result;
  }
}
