import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { basename, join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { glueTables, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { sqlglot } from './sqlglot';

/** A Glue table the fake serves: every object under `root` (Hive-partitioned by ds=…/). */
export interface FakeGlueTable {
  name: string;
  bucket: string;
  /** Key prefix of the table, ending in '/'. */
  root: string;
  format: 'parquet' | 'csv';
  /** Data columns in order (what information_schema answers; ds is the partition column). */
  columns: string[];
  /**
   * Their Glue types, in the same order, when known: a Parquet file whose column cannot be read as
   * its declared type fails the query (HIVE_BAD_DATA), as on Athena.
   */
  types?: string[];
}

export interface AthenaFakeOptions {
  store: ObjectStore;
  database: string;
  tables: FakeGlueTable[];
  /** Python of .venv/aws (sqlglot). */
  python: string;
}

interface Execution {
  state: 'SUCCEEDED' | 'FAILED';
  reason?: string;
  error?: AthenaErrorShape;
  columns: Array<{ Name: string; Type: string }>;
  rows: string[][];
}

/** QueryExecution.Status.AthenaError as Athena reports a failed query. */
export interface AthenaErrorShape {
  /** 1 system, 2 user, 3 other. */
  ErrorCategory: number;
  ErrorType: number;
  Retryable: boolean;
  ErrorMessage: string;
}

/**
 * A failed query as Athena reports it: `<ERROR_NAME>: <message>` as the state change reason and the
 * AthenaError beside it (the error types the fake needs: 1006 invalid argument, 1100 user error of a
 * query's SQL or target).
 */
class AthenaQueryFailure extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly errorType = 1100,
  ) {
    super(`${errorName}: ${message}`);
  }
}

/** Names like the data files Athena's UNLOAD writes: the query's id in Trino's form, a UUID, no extension. */
function unloadFileName(seq: number, part: number): string {
  const queryId = `20260101_000000_${String(seq).padStart(5, '0')}_fakea`;
  return `${queryId}_${randomUUID().slice(0, -4)}${String(part).padStart(4, '0')}`;
}

/**
 * An Athena stand-in for app-level tests: what StartQueryExecution receives is translated from
 * Trino to DuckDB by sqlglot and run by DuckDB over the Glue tables' objects in the real object
 * store (UNLOAD writes Parquet back there and, like Athena, refuses a non-empty target). Answers in
 * the shapes of GetQueryExecution and GetQueryResults. Wire it to aws-sdk-client-mock.
 */
export class AthenaFake {
  private db?: DuckDBInstance;
  private con?: DuckDBConnection;
  private dir?: string;
  private readonly executions = new Map<string, Execution>();
  private seq = 0;
  readonly statements: string[] = [];
  /** Called after UNLOAD writes each data file (its index): a test may throw here to fail the query midway, files left behind as Athena leaves them. */
  afterUnloadFile?: (index: number) => void;

  constructor(private readonly o: AthenaFakeOptions) {}

  async start(sql: string): Promise<string> {
    const id = `fake-${++this.seq}`;
    this.statements.push(sql);
    try {
      this.executions.set(id, await this.run(sql));
    } catch (e) {
      const failure = e instanceof AthenaQueryFailure ? e : new AthenaQueryFailure('GENERIC_USER_ERROR', (e as Error).message);
      this.executions.set(id, {
        state: 'FAILED',
        reason: failure.message,
        error: { ErrorCategory: 2, ErrorType: failure.errorType, Retryable: false, ErrorMessage: failure.message },
        columns: [],
        rows: [],
      });
    }
    return id;
  }

  execution(id: string): { State: 'SUCCEEDED' | 'FAILED'; StateChangeReason?: string; AthenaError?: AthenaErrorShape } {
    const e = this.executions.get(id);
    if (!e) throw new Error(`no query ${id}`);
    return { State: e.state, StateChangeReason: e.reason, AthenaError: e.error };
  }

  /** A page of results as GetQueryResults returns them (the first page starts with the header row). */
  results(id: string, token: string | undefined, pageSize = 1000) {
    const e = this.executions.get(id) as Execution;
    const all = [e.columns.map((c) => c.Name), ...e.rows];
    const start = token ? Number(token) : 0;
    const page = all.slice(start, start + pageSize);
    const next = start + pageSize < all.length ? String(start + pageSize) : undefined;
    return {
      ResultSet: { ResultSetMetadata: { ColumnInfo: e.columns }, Rows: page.map((r) => ({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) })) },
      NextToken: next,
    };
  }

  async close(): Promise<void> {
    this.con?.closeSync();
    this.db?.closeSync();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private async run(sql: string): Promise<Execution> {
    const info = /from information_schema\.columns where table_schema = '([^']+)' and table_name = '([^']+)'/.exec(sql);
    if (info) {
      const table = this.o.tables.find((t) => t.name === info[2] && info[1] === this.o.database);
      return { state: 'SUCCEEDED', columns: [{ Name: 'column_name', Type: 'varchar' }], rows: (table?.columns ?? []).map((c) => [c]) };
    }
    const unload = /^UNLOAD \(\n([\s\S]*)\n\) TO 's3:\/\/([^/]+)\/([^']*)' WITH \(format = 'PARQUET', compression = 'SNAPPY'\)$/.exec(sql);
    const select = unload ? unload[1] : sql;
    const [t] = sqlglot(this.o.python, [{ op: 'transpile', sql: select, read: 'trino', write: 'duckdb' }]);
    if (!t.ok) throw new AthenaQueryFailure('SYNTAX_ERROR', `sqlglot: ${t.error}`);
    const con = await this.connect();
    await this.sync(con, select);
    if (unload) {
      const [, , bucket, prefix] = unload;
      if ((await this.o.store.listAll(bucket, prefix)).length > 0) throw new AthenaQueryFailure('HIVE_PATH_ALREADY_EXISTS', `Target directory for table 'unload' already exists: s3://${bucket}/${prefix}`);
      const out = join(this.dir as string, 'unload', String(this.seq));
      await mkdir(out, { recursive: true });
      await con.run(`copy (${t.sql}) to '${out}' (format parquet, compression snappy, per_thread_output true)`);
      const parts = (await readdir(out)).sort();
      for (const [i, f] of parts.entries()) {
        await this.o.store.upload(join(out, f), bucket, `${prefix}${unloadFileName(this.seq, i)}`);
        this.afterUnloadFile?.(i);
      }
      return { state: 'SUCCEEDED', columns: [], rows: [] };
    }
    const reader = await con.runAndReadAll(t.sql as string);
    const names = reader.columnNames();
    const types = reader.columnTypes().map((ty) => athenaType(ty.toString()));
    const rows = reader.getRowsJS().map((r) => r.map((v, i) => text(v, types[i])));
    return { state: 'SUCCEEDED', columns: names.map((n, i) => ({ Name: n, Type: types[i] })), rows: rows as string[][] };
  }

  private async connect(): Promise<DuckDBConnection> {
    if (!this.con) {
      this.dir = await mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'athena-fake-'));
      this.db = await DuckDBInstance.create(':memory:');
      this.con = await this.db.connect();
      await this.con.run(`create schema ${this.o.database}`);
    }
    return this.con;
  }

  /** Fails as Athena does when a column of the Parquet file at `path` cannot be read as the table declares it. */
  private async checkParquetTypes(con: DuckDBConnection, table: FakeGlueTable, path: string, url: string): Promise<void> {
    if (!table.types) return;
    const described = (await con.runAndReadAll(`describe select * from read_parquet('${path.replace(/'/g, "''")}')`)).getRowObjects();
    const inFile = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
    for (const [i, name] of table.columns.entries()) {
      const glue = table.types[i];
      const found = inFile.get(name);
      if (found === undefined || (READS[glue] ?? [glue.toUpperCase()]).includes(found)) continue;
      throw new AthenaQueryFailure('HIVE_BAD_DATA', `Field ${name}'s type ${found} in parquet file ${url} is incompatible with type ${glue} defined in table schema`);
    }
  }

  /** Copies the objects of the tables `sql` reads locally and (re)defines their views, ds from the Hive path. */
  private async sync(con: DuckDBConnection, sql: string): Promise<void> {
    for (const table of this.o.tables.filter((t) => sql.includes(`"${this.o.database}"."${t.name}"`))) {
      const local = join(this.dir as string, 'tables', table.name);
      await rm(local, { recursive: true, force: true });
      // Like Athena: every object of a ds=D/ partition directly under the table, whatever its name ends
      // with; names starting with _ or . skipped as hidden; nothing outside a partition read.
      const objects = (await this.o.store.listAll(table.bucket, table.root)).filter((o) => /^ds=[^/]+\/[^/]+$/.test(o.key.slice(table.root.length)) && !/^[_.]/.test(basename(o.key)));
      const files: string[] = [];
      for (const o of objects) {
        files.push(join(local, o.key.slice(table.root.length)));
        await this.o.store.download(table.bucket, o.key, files[files.length - 1]);
        if (table.format === 'parquet') await this.checkParquetTypes(con, table, files[files.length - 1], `s3://${table.bucket}/${o.key}`);
      }
      const cols = table.columns.map((c) => `"${c}"`).join(', ');
      const list = `[${files.map((f) => `'${f.replace(/'/g, "''")}'`).join(', ')}]`;
      const source =
        objects.length === 0
          ? `(select ${table.columns.map((c) => `cast(null as varchar) as "${c}"`).join(', ')}, cast(null as varchar) as ds where false)`
          : table.format === 'parquet'
            ? `(select ${cols}, cast(ds as varchar) as ds from read_parquet(${list}, hive_partitioning = true, hive_types = {'ds': varchar}))`
            : `(select ${cols}, cast(ds as varchar) as ds from read_csv(${list}, header = true, all_varchar = true, hive_partitioning = true, hive_types = {'ds': varchar}))`;
      await con.run(`create or replace view ${this.o.database}.${table.name} as select * from ${source}`);
    }
  }
}

/**
 * Which Parquet columns (as DuckDB types them) a Glue type reads: the same type, or a narrower
 * integer or float. Anything else fails on Athena: a text column declared bigint, say.
 */
const READS: Record<string, string[]> = {
  string: ['VARCHAR'],
  bigint: ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT'],
  int: ['INTEGER', 'SMALLINT', 'TINYINT'],
  double: ['DOUBLE', 'FLOAT'],
  timestamp: ['TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS'],
  date: ['DATE'],
};

function athenaType(duck: string): string {
  const t = duck.toUpperCase();
  if (t === 'BIGINT' || t === 'HUGEINT' || t === 'UBIGINT') return 'bigint';
  if (t === 'INTEGER') return 'integer';
  if (t === 'DOUBLE' || t === 'FLOAT') return 'double';
  if (t === 'BOOLEAN') return 'boolean';
  if (t === 'DATE') return 'date';
  if (t.startsWith('TIMESTAMP')) return 'timestamp';
  if (t.startsWith('DECIMAL')) return 'decimal';
  return 'varchar';
}

/** A value as Athena's result text. */
function text(v: unknown, type: string): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) {
    const iso = v.toISOString();
    return type === 'date' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  }
  return String(v);
}


/** The Glue tables of the lake, as the stacks define them (glueTables), as the fake serves them. */
export function lakeGlueTables(buckets: Buckets): FakeGlueTable[] {
  return glueTables(buckets).map((g) => {
    const root = new URL(g.location);
    return { name: g.name, bucket: root.host, root: root.pathname.slice(1), format: g.format, columns: g.columns.map((c) => c.name), types: g.columns.map((c) => c.type) };
  });
}

/**
 * An AthenaClient whose API calls the fake answers (aws-sdk-client-mock on AthenaClient), for an
 * Athena adapter under test; `close` restores the real client and drops the fake's files.
 */
export function fakeAthenaClient(o: AthenaFakeOptions): { client: AthenaClient; fake: AthenaFake; close(): Promise<void> } {
  const mock = mockClient(AthenaClient);
  const fake = new AthenaFake(o);
  // Like Athena, a start repeated with the same ClientRequestToken is the same query, not a second run.
  const byToken = new Map<string, Promise<string>>();
  mock.on(StartQueryExecutionCommand).callsFake(async (i) => {
    const token = i.ClientRequestToken as string | undefined;
    const started = (token && byToken.get(token)) || fake.start(i.QueryString as string);
    if (token) byToken.set(token, started);
    return { QueryExecutionId: await started };
  });
  mock.on(GetQueryExecutionCommand).callsFake((i) => ({ QueryExecution: { Status: fake.execution(i.QueryExecutionId as string) } }));
  mock.on(GetQueryResultsCommand).callsFake((i) => fake.results(i.QueryExecutionId as string, i.NextToken as string | undefined));
  return {
    client: new AthenaClient({ region: 'eu-central-1' }),
    fake,
    async close() {
      mock.restore();
      await fake.close();
    },
  };
}
