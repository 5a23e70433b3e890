import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type ColumnInfo,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import { callAws, ExternalError, pollStatement, resolvePolling, s3Url, type Logger, type PollingOptions } from '@trips/core';
import { keepOnly, listDataObjects, type ObjectStore } from '@trips/storage';
import type { DatasetRef, QueryEngine, QueryRequest, WriteRequest, WriteResult } from './port';

export interface AthenaEngineOptions extends PollingOptions {
  client: AthenaClient;
  store: ObjectStore;
  workgroup: string;
  /** Glue database holding the pipeline's tables (partition projection on ds; never MSCK REPAIR). */
  database: string;
  catalog?: string;
  /** s3:// folder for query results, unless the workgroup enforces its own. */
  outputLocation?: string;
  logger?: Logger;
}

/** A query Athena reported FAILED or CANCELLED, or that outlived the timeout. */
export class AthenaQueryError extends ExternalError {
  constructor(
    message: string,
    readonly queryId: string,
    readonly state: string,
  ) {
    super(message);
  }
}

const TRANSIENT = new Set(['ThrottlingException', 'TooManyRequestsException', 'InternalServerException', 'ServiceUnavailableException', 'RequestTimeout', 'TimeoutError']);
const isTransient = (e: unknown) => TRANSIENT.has((e as { name?: string }).name ?? '') || (e as { $retryable?: unknown }).$retryable !== undefined;
const str = (s: string) => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const firstLine = (sql: string) => sql.trim().replace(/\s+/g, ' ').slice(0, 160);

/** Where UNLOAD writes before a result is copied into its partition: a hidden prefix of the target's bucket, outside every table. */
export const STAGING_PREFIX = '_staging/athena/';

/**
 * The AWS adapter of the query-engine port: Athena (Trino SQL) in a workgroup. Inputs are the Glue
 * tables of the same names, scoped to the request's partition by a CTE per input; outputs are
 * written with UNLOAD to Parquet (Snappy) into a fresh staging prefix (UNLOAD refuses a non-empty
 * target and leaves files behind when it fails), then copied into the target partition, whose old
 * objects go last: a failed write leaves the previous partition as it was.
 */
export class AthenaEngine implements QueryEngine {
  readonly dialect = 'athena' as const;
  private readonly columns = new Map<string, Promise<string[]>>();

  private readonly polling: ReturnType<typeof resolvePolling>;
  private lastState?: string;

  constructor(private readonly o: AthenaEngineOptions) {
    this.polling = resolvePolling(o);
  }

  /** The Athena client the adapter calls (its configuration: region, retries). */
  get client(): AthenaClient {
    return this.o.client;
  }

  async writeParquet(req: WriteRequest): Promise<WriteResult> {
    // UNLOAD needs an empty target and leaves files behind when it fails: it writes to a fresh
    // staging prefix of the target's bucket (outside every table), and only a complete result is
    // copied in beside the old partition, which is deleted last.
    const staging = { bucket: req.target.bucket, prefix: `${STAGING_PREFIX}${randomUUID()}/` };
    const select = await this.scoped(req.sql, req.inputs);
    const files: string[] = [];
    try {
      await this.execute(`UNLOAD (\n${select}\n) TO ${str(s3Url(staging))} WITH (format = 'PARQUET', compression = 'SNAPPY')`);
      for (const o of await listDataObjects(this.o.store, staging, 'UNLOAD output')) {
        const key = `${req.target.prefix}${basename(o.key)}`;
        await this.o.store.copy(req.target.bucket, o.key, key);
        files.push(key);
      }
      await keepOnly(this.o.store, req.target, files);
    } finally {
      await this.o.store.deletePrefix(staging.bucket, staging.prefix).catch((e) => this.o.logger?.warn({ staging: s3Url(staging), err: (e as Error).message }, 'athena: could not remove the staging prefix'));
    }
    files.sort();
    // UNLOAD reports no row count: count the table over its new partition (Parquet footers only), or
    // when the target has no table of its own, the SELECT again.
    const counted = req.table
      ? await this.query<{ n: number }>({ sql: `select count(*) as n from ${req.table}`, inputs: [{ name: req.table, location: req.target, format: 'parquet' }] })
      : await this.query<{ n: number }>({ sql: `select count(*) as n from (\n${req.sql}\n)`, inputs: req.inputs });
    return { rows: Number(counted[0]?.n ?? 0), files };
  }

  async query<T = Record<string, unknown>>(req: QueryRequest): Promise<T[]> {
    const id = await this.execute(await this.scoped(req.sql, req.inputs));
    const rows: T[] = [];
    let columns: ColumnInfo[] | undefined;
    let token: string | undefined;
    let first = true;
    do {
      const page = await this.call('GetQueryResults', () => this.o.client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 })));
      columns ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const data = page.ResultSet?.Rows ?? [];
      // The first row of a SELECT's first page repeats the column names.
      for (const row of first ? data.slice(1) : data) {
        const out: Record<string, unknown> = {};
        columns.forEach((c, i) => (out[c.Name as string] = athenaValue(row.Data?.[i]?.VarCharValue, c.Type ?? 'varchar')));
        rows.push(out as T);
      }
      first = false;
      token = page.NextToken;
    } while (token);
    return rows;
  }

  async close(): Promise<void> {
    this.columns.clear();
  }

  /** The SQL with a CTE per input reading its Glue table, limited to the input's ds partition. */
  private async scoped(sql: string, inputs: DatasetRef[]): Promise<string> {
    if (inputs.length === 0) return sql.trim();
    const ctes = await Promise.all(
      inputs.map(async (input) => {
        const ds = input.partition?.ds ?? /(?:^|\/)ds=(\d{4}-\d{2}-\d{2})\/$/.exec(input.location.prefix)?.[1];
        const cols = input.columns ?? (await this.tableColumns(input.name));
        const where = ds ? ` where ds = ${str(ds)}` : '';
        return `${ident(input.name)} as (select ${cols.map(ident).join(', ')} from ${ident(this.o.database)}.${ident(input.name)}${where})`;
      }),
    );
    // A model that starts (after its leading comments) with its own WITH gets the input CTEs
    // prepended to its list: Trino allows one WITH per query.
    const body = sql.trim();
    const lead = /^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))*\s*/.exec(body)?.[0] ?? '';
    const rest = body.slice(lead.length);
    const own = /^with\s/i.exec(rest);
    return own ? `${lead}with ${ctes.join(',\n')},\n${rest.slice(own[0].length)}` : `with ${ctes.join(',\n')}\n${body}`;
  }

  /** A table's data columns (not the ds partition column), from information_schema, once per table. */
  private tableColumns(table: string): Promise<string[]> {
    let cols = this.columns.get(table);
    if (!cols) {
      const sql = `select column_name from information_schema.columns where table_schema = ${str(this.o.database)} and table_name = ${str(table)} and column_name <> 'ds' order by ordinal_position`;
      cols = this.query<{ column_name: string }>({ sql, inputs: [] }).then((rows) => {
        if (rows.length === 0) throw new ExternalError(`Athena: table ${this.o.database}.${table} has no columns (is it defined in Glue? the stacks create it)`);
        return rows.map((r) => r.column_name);
      });
      this.columns.set(table, cols);
    }
    return cols;
  }

  /** Starts a query and waits for it; returns its id once SUCCEEDED. */
  private async execute(sql: string): Promise<string> {
    if (this.o.signal?.aborted) throw new ExternalError('Athena: the task was interrupted before the query started');
    // One token for every attempt of this statement: a retried start that Athena had in fact
    // received returns that query instead of running the statement twice.
    const token = randomUUID();
    const started = await this.call('StartQueryExecution', () =>
      this.o.client.send(
        new StartQueryExecutionCommand({
          ClientRequestToken: token,
          QueryString: sql,
          WorkGroup: this.o.workgroup,
          QueryExecutionContext: { Database: this.o.database, Catalog: this.o.catalog ?? 'AwsDataCatalog' },
          ResultConfiguration: this.o.outputLocation ? { OutputLocation: this.o.outputLocation } : undefined,
        }),
      ),
    );
    const id = started.QueryExecutionId as string;
    this.o.logger?.info({ queryId: id, sql: firstLine(sql) }, 'athena: query started');
    return pollStatement(
      this.polling,
      async () => {
        const exec: QueryExecution | undefined = (await this.call('GetQueryExecution', () => this.o.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id })))).QueryExecution;
        const state = exec?.Status?.State;
        this.lastState = state;
        if (state === 'SUCCEEDED') {
          this.o.logger?.info({ queryId: id, scannedBytes: exec?.Statistics?.DataScannedInBytes, ms: exec?.Statistics?.TotalExecutionTimeInMillis }, 'athena: query succeeded');
          return id;
        }
        if (state === 'FAILED' || state === 'CANCELLED') {
          const reason = exec?.Status?.StateChangeReason ?? exec?.Status?.AthenaError?.ErrorMessage ?? 'no reason given';
          throw new AthenaQueryError(`Athena query ${id} ${state}: ${reason} (query: ${firstLine(sql)})`, id, state);
        }
        return undefined;
      },
      async (why) => {
        await this.stop(id);
        return why === 'interrupted'
          ? new AthenaQueryError(`Athena query ${id} stopped: the task was interrupted`, id, 'CANCELLED')
          : new AthenaQueryError(`Athena query ${id} still ${this.lastState ?? 'QUEUED'} after ${Math.round(this.polling.timeoutMs / 1000)} s: stopped it (query: ${firstLine(sql)})`, id, 'TIMEOUT');
      },
    );
  }

  private async stop(id: string): Promise<void> {
    await this.call('StopQueryExecution', () => this.o.client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }))).catch((e) =>
      this.o.logger?.warn({ queryId: id, err: (e as Error).message }, 'athena: could not stop the query'),
    );
  }

  /** One API call, retried on throttling and transient errors only. */
  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return callAws('Athena', what, fn, { polling: this.polling, transient: isTransient, logger: this.o.logger });
  }
}

/** An Athena result value (text) as the port promises it: numbers, 'YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS.mmm', null. */
export function athenaValue(text: string | undefined, type: string): unknown {
  if (text === undefined) return null;
  switch (type.toLowerCase()) {
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'bigint': {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 'double':
    case 'float':
    case 'real':
      return Number(text);
    case 'boolean':
      return text === 'true';
    case 'timestamp':
      return text.length === 19 ? `${text}.000` : text.slice(0, 23);
    default:
      return text;
  }
}
