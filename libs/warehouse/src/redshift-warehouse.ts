import type {
  BatchExecuteStatementCommandOutput,
  DescribeStatementCommandOutput,
  ExecuteStatementCommandOutput,
  Field,
  GetStatementResultCommandOutput,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import { callAws, ExternalError, pollStatement, resolvePolling, type Logger, type PollingOptions } from '@trips/core';
import { PRIVILEGE_FIX, warehouseSchemaTables } from './bootstrap';
import { dialectSteps, schemaDdl } from './ddl';
import { columnDdl } from './types';
import { WAREHOUSE_SCHEMA, type LoadRequest, type LoadResult, type WarehouseLoader } from './port';

export interface RedshiftTarget {
  /** Redshift Serverless workgroup, or … */
  workgroupName?: string;
  /** … a provisioned cluster. */
  clusterIdentifier?: string;
  database: string;
  /** Secrets Manager secret with the database credentials; without it IAM authenticates (DbUser on a cluster). */
  secretArn?: string;
  dbUser?: string;
}

export interface RedshiftWarehouseOptions extends PollingOptions {
  /** The Data API client; without one, the adapter makes its own, for `region`, at its first call. */
  client?: RedshiftDataClient;
  region?: string;
  target: RedshiftTarget;
  /** IAM role Redshift assumes to read the lake for COPY. */
  copyRoleArn: string;
  logger?: Logger;
}

/** Limits of the Data API this adapter stays within. */
export const BATCH_MAX_STATEMENTS = 40;
export const SQL_MAX_BYTES = 100 * 1024;

const TRANSIENT = new Set(['ThrottlingException', 'InternalServerException', 'ServiceUnavailableException', 'ActiveStatementsExceededException', 'TimeoutError']);
const isTransient = (e: unknown) => TRANSIENT.has((e as { name?: string }).name ?? '');
const str = (s: string) => `'${s.replace(/'/g, "''")}'`;
const firstLine = (sql: string) => sql.trim().replace(/\s+/g, ' ').slice(0, 120);

type RedshiftDataSdk = typeof import('@aws-sdk/client-redshift-data');
/**
 * The Data API's SDK, loaded at the adapter's first call: every process using the warehouse imports
 * this module (the tasks through their settings, every `trips` command), and the local ones never
 * call Redshift (the SDK takes 60 ms to load).
 */
const redshiftDataSdk = (): Promise<RedshiftDataSdk> => import('@aws-sdk/client-redshift-data');

/**
 * The AWS adapter of the warehouse port: Redshift through the Data API. Each table load is one
 * BatchExecuteStatement, which Redshift runs as one transaction: a temp staging table whose columns
 * are in the files' order (COPY from Parquet maps by position), COPY of the ds partition, then the
 * same delete/insert and aggregate refresh the Postgres adapter runs, so a rerun is idempotent.
 */
export class RedshiftWarehouse implements WarehouseLoader {
  readonly dialect = 'redshift' as const;

  private readonly polling: ReturnType<typeof resolvePolling>;
  private client?: RedshiftDataClient;

  constructor(private readonly o: RedshiftWarehouseOptions) {
    this.polling = resolvePolling(o);
    this.client = o.client;
  }

  /** One Data API request, the command made by `make` from the SDK. */
  private async send<T>(make: (sdk: RedshiftDataSdk) => object): Promise<T> {
    const sdk = await redshiftDataSdk();
    // One retry layer: the adapter's own (call, capped backoff), so the SDK's is off rather than stacked under it.
    this.client ??= new sdk.RedshiftDataClient({ region: this.o.region, maxAttempts: 1 });
    return this.client.send(make(sdk) as never) as Promise<T>;
  }

  /**
   * Creates what is missing of the schema. A bootstrapped database (bootstrapStatements) has every
   * table, and then no DDL is sent: the loader's user may not create anything. Otherwise the DDL
   * runs, and fails without the privileges, naming the fix.
   */
  async ensureSchema(): Promise<void> {
    const rows = await this.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = $1`, [WAREHOUSE_SCHEMA]);
    const present = new Set(rows.map((r) => r.table_name));
    if (warehouseSchemaTables().every((t) => present.has(t))) return;
    await this.batch(schemaDdl('redshift'), 'trips-ensure-schema');
  }

  /** Runs statements as one transaction with this adapter's identity (the bootstrap, with an administrator's). */
  async execute(sqls: string[], name: string): Promise<void> {
    await this.batch(sqls, name);
  }

  async loadTable(req: LoadRequest): Promise<LoadResult> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(req.ds)) throw new Error(`not a ds: ${req.ds}`);
    const { table } = req;
    const columns = table.columns;
    const ds = str(req.ds);
    // BatchExecuteStatement takes no parameters: the ds (checked above) is written in as a literal.
    const bind = (sql: string) => sql.replace(/\$1\b/g, ds);
    const redshift = (sql: string) => bind(sql).replace(/ on commit drop/g, '');
    const steps = dialectSteps(table, 'redshift');
    // From a manifest of the checked files: exactly those, whatever else the prefix holds.
    const manifest = `s3://${req.manifest.bucket}/${req.manifest.key}`;
    const head = [
      // NOT NULL as in the table: a lake row without its key fails the COPY instead of being left out by the load's joins.
      `create temp table stage (${columns.map((c) => columnDdl(c, 'redshift')).join(', ')})`,
      `copy stage from ${str(manifest)} iam_role ${str(this.o.copyRoleArn)} format as parquet manifest`,
      'select count(*) from stage',
      // Staged first, then the lock: readers wait only for the swap, not for the COPY.
      `lock ${WAREHOUSE_SCHEMA}.${table.id}`,
    ];
    const sqls = [...head, ...steps.map((s) => redshift(s.sql))];
    // One batch stages and changes the table, so nothing is staged ahead.
    await req.after;
    const done = await this.batch(sqls, `trips-load-${table.id}-${req.ds}`);
    const sub = done.SubStatements ?? [];
    const countId = sub[2]?.Id;
    const staged = countId ? Number((await this.records(countId)).rows[0]?.[0] ?? 0) : 0;
    const rows = (what: 'inserted' | 'deleted') =>
      steps.reduce((sum, s, i) => (s.count === what ? sum + Math.max(0, sub[head.length + i]?.ResultRows ?? 0) : sum), 0);
    const inserted = rows('inserted');
    const deleted = rows('deleted');
    const result = { table: table.id, staged, inserted, deleted, skipped: staged - inserted };
    this.o.logger?.info(result, `loaded ${WAREHOUSE_SCHEMA}.${table.id}`);
    return result;
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    // The Data API names its parameters: $1..$n become :p1..:pn.
    const text = sql.replace(/\$(\d+)\b/g, (_, n: string) => `:p${n}`);
    const parameters = params.map((v, i) => {
      if (v === null || v === undefined) throw new Error(`Redshift Data API parameters cannot be NULL ($${i + 1}); write NULL into the SQL instead`);
      return { name: `p${i + 1}`, value: v instanceof Date ? v.toISOString() : String(v) };
    });
    const started = await this.call('ExecuteStatement', () =>
      this.send<ExecuteStatementCommandOutput>((sdk) => new sdk.ExecuteStatementCommand({ ...this.where(), Sql: text, Parameters: parameters.length > 0 ? parameters : undefined, StatementName: 'trips-query' })),
    );
    const done = await this.wait(started.Id as string, [text]);
    if (!done.HasResultSet) return [];
    const { names, rows } = await this.records(started.Id as string);
    return rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])) as T);
  }

  async close(): Promise<void> {
    // The Data API keeps no connection open.
  }

  private where() {
    const t = this.o.target;
    return {
      WorkgroupName: t.workgroupName,
      ClusterIdentifier: t.clusterIdentifier,
      Database: t.database,
      SecretArn: t.secretArn,
      DbUser: t.secretArn ? undefined : t.dbUser,
    };
  }

  /** Runs statements as one transaction (one BatchExecuteStatement), within the Data API's limits. */
  private async batch(sqls: string[], name: string): Promise<DescribeStatementCommandOutput> {
    if (sqls.length > BATCH_MAX_STATEMENTS) throw new Error(`${name}: ${sqls.length} statements, more than the ${BATCH_MAX_STATEMENTS} one batch takes`);
    const big = sqls.find((s) => Buffer.byteLength(s) > SQL_MAX_BYTES);
    if (big) throw new Error(`${name}: a statement is over ${SQL_MAX_BYTES} bytes: ${firstLine(big)}`);
    const started = await this.call('BatchExecuteStatement', () => this.send<BatchExecuteStatementCommandOutput>((sdk) => new sdk.BatchExecuteStatementCommand({ ...this.where(), Sqls: sqls, StatementName: name })));
    return this.wait(started.Id as string, sqls);
  }

  /** Polls DescribeStatement with capped exponential backoff until FINISHED; errors name the failing statement. */
  private wait(id: string, sqls: string[]): Promise<DescribeStatementCommandOutput> {
    let status: string | undefined;
    return pollStatement(
      this.polling,
      async () => {
        const d = await this.call('DescribeStatement', () => this.send<DescribeStatementCommandOutput>((sdk) => new sdk.DescribeStatementCommand({ Id: id })));
        status = d.Status;
        if (d.Status === 'FINISHED') return d;
        if (d.Status === 'FAILED' || d.Status === 'ABORTED') {
          const failed = (d.SubStatements ?? []).findIndex((s) => s.Status === 'FAILED' || s.Status === 'ABORTED');
          const text = failed >= 0 ? d.SubStatements?.[failed]?.QueryString ?? sqls[failed] : sqls[0];
          const message = (failed >= 0 ? d.SubStatements?.[failed]?.Error : undefined) ?? d.Error ?? d.Status;
          const which = sqls.length > 1 ? `statement ${failed + 1} of ${sqls.length} ` : '';
          const fix = /permission denied|must be owner/i.test(message) ? `; the database user lacks a privilege: ${PRIVILEGE_FIX}` : '';
          throw new ExternalError(`Redshift statement ${id} ${d.Status}: ${which}(${firstLine(text ?? '')}): ${message}; the transaction was rolled back${fix}`);
        }
        return undefined;
      },
      async (why) => {
        await this.cancel(id);
        return why === 'interrupted'
          ? new ExternalError(`Redshift statement ${id} cancelled: the task was interrupted`)
          : new ExternalError(`Redshift statement ${id} still ${status} after ${Math.round(this.polling.timeoutMs / 1000)} s: cancelled it`);
      },
    );
  }

  private async records(id: string): Promise<{ names: string[]; rows: unknown[][] }> {
    const rows: unknown[][] = [];
    let names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('GetStatementResult', () => this.send<GetStatementResultCommandOutput>((sdk) => new sdk.GetStatementResultCommand({ Id: id, NextToken: token })));
      if (page.ColumnMetadata) names = page.ColumnMetadata.map((c) => c.name ?? c.label ?? '');
      for (const r of page.Records ?? []) rows.push(r.map(fieldValue));
      token = page.NextToken;
    } while (token);
    return { names, rows };
  }

  private async cancel(id: string): Promise<void> {
    await this.call('CancelStatement', () => this.send<unknown>((sdk) => new sdk.CancelStatementCommand({ Id: id }))).catch((e) =>
      this.o.logger?.warn({ id, err: (e as Error).message }, 'redshift: could not cancel the statement'),
    );
  }

  /** One API call, retried on throttling and transient errors only. */
  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return callAws('Redshift Data API', what, fn, { polling: this.polling, transient: isTransient, logger: this.o.logger });
  }
}

function fieldValue(f: Field): unknown {
  if (f.isNull) return null;
  if (f.longValue !== undefined) return f.longValue;
  if (f.doubleValue !== undefined) return f.doubleValue;
  if (f.booleanValue !== undefined) return f.booleanValue;
  if (f.stringValue !== undefined) return f.stringValue;
  return null;
}
