import { ContractError, type Location } from '@trips/core';
import type { TableDef } from '@trips/pipeline';

/**
 * What a model promises about its output, read from its catalog entry: columns (names, order,
 * types), the key unique and not null, not-null columns, and the entry's tests. Apps check it
 * after writing, through the same query engine that wrote it, so a broken promise fails the task
 * instead of reaching the warehouse.
 */
export interface ModelContract {
  model: string;
  /** What one row is. */
  grain: string;
  /** Columns that together identify a row: checked unique and not null. */
  key: readonly string[];
  notNull: readonly string[];
  /** Expected columns in file order with their types. */
  columns: ReadonlyArray<{ name: string; type: string }>;
  /** Further column sets that must be unique. */
  unique?: readonly (readonly string[])[];
  /** Every non-null value of `column` exists in `to`.`field` (a model written for the same ds). */
  relationships?: ReadonlyArray<{ column: string; to: string; field: string }>;
  acceptedValues?: ReadonlyArray<{ column: string; values: ReadonlyArray<string | number> }>;
  /** Exact number of rows, for fixed dimensions. */
  rowCount?: number;
}

/** The contract of a catalog table. */
export function contractOf(t: TableDef): ModelContract {
  return {
    model: t.id,
    grain: t.grain,
    key: t.key,
    notNull: t.columns.filter((c) => !c.nullable).map((c) => c.name),
    columns: t.columns,
    unique: t.tests?.unique,
    relationships: t.tests?.relationships,
    acceptedValues: t.tests?.acceptedValues,
    rowCount: t.tests?.rowCount,
  };
}

/** The part of the query engine port a contract check needs. */
export interface ContractQueryEngine {
  query<T = Record<string, unknown>>(req: { sql: string; inputs: Array<{ name: string; location: Location; format: 'parquet' }> }): Promise<T[]>;
}

export interface ContractOptions {
  /** Where each table named by a relationship was written (same ds). */
  related?: Record<string, Location>;
}

export interface ContractResult {
  model: string;
  rows: number;
  checks: string[];
}

const SAMPLE = 5;
const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Runs every check of `contract` against the Parquet at `location`; throws a ContractError naming
 * the model, each failed check and a sample of the offending values. Returns the checks run.
 */
export async function checkContract(
  engine: ContractQueryEngine,
  contract: ModelContract,
  location: Location,
  options: ContractOptions = {},
): Promise<ContractResult> {
  const m = contract.model;
  const inputs = [{ name: m, location, format: 'parquet' as const }];
  for (const r of contract.relationships ?? []) {
    const at = options.related?.[r.to];
    if (!at) throw new Error(`contract of ${m}: no location given for ${r.to}, which relationship ${r.column} needs`);
    inputs.push({ name: r.to, location: at, format: 'parquet' });
  }
  const rows = async (sql: string) => engine.query<Record<string, unknown>>({ sql, inputs });
  const sample = async (sql: string) => (await rows(`${sql} limit ${SAMPLE}`)).map((r) => Object.values(r).map(String).join('|')).join(', ');
  const failures: string[] = [];
  const checks: string[] = [];
  const keyList = contract.key.map(q).join(', ');

  checks.push('columns');
  const problem = await columnProblem(rows, m, contract.columns);
  if (problem) failures.push(problem);

  // Every count the checks need in one query: on Athena each query is a round trip of a second or
  // more, and on DuckDB each one lists its inputs in the store again. The checks that find
  // something then ask for a sample.
  const notNull = [...new Set([...contract.key, ...contract.notNull])];
  const uniques = [contract.key, ...(contract.unique ?? [])];
  const relationships = contract.relationships ?? [];
  const acceptedValues = contract.acceptedValues ?? [];
  const dupes = (cols: readonly string[]) => {
    const list = cols.map(q).join(', ');
    return `select ${list} from ${q(m)} group by ${list} having count(*) > 1`;
  };
  const missing = (r: (typeof relationships)[number]) =>
    `select distinct f.${q(r.column)} from ${q(m)} f left join ${q(r.to)} d on f.${q(r.column)} = d.${q(r.field)} where f.${q(r.column)} is not null and d.${q(r.field)} is null`;
  const outside = (a: (typeof acceptedValues)[number]) => {
    const allowed = a.values.map((v) => (typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`)).join(', ');
    return `select distinct ${q(a.column)} from ${q(m)} where ${q(a.column)} not in (${allowed})`;
  };
  const counted = [
    'count(*) as n',
    ...notNull.map((c, i) => `sum(case when ${q(c)} is null then 1 else 0 end) as null_${i}`),
    ...uniques.map((cols, i) => `(select count(*) from (${dupes(cols)}) x) as unique_${i}`),
    ...relationships.map((r, i) => `(select count(*) from (${missing(r)}) x) as missing_${i}`),
    ...acceptedValues.map((a, i) => `(select count(*) from (${outside(a)}) x) as outside_${i}`),
  ];
  const [found = {}] = await rows(`select ${counted.join(', ')} from ${q(m)}`);
  const n = (column: string) => Number(found[column] ?? 0);

  const total = n('n');
  if (contract.rowCount !== undefined) {
    checks.push('row_count');
    if (total !== contract.rowCount) failures.push(`row_count: expected ${contract.rowCount} rows, found ${total}`);
  }
  for (const [i, c] of notNull.entries()) {
    checks.push(`not_null(${c})`);
    if (n(`null_${i}`) > 0) failures.push(`not_null(${c}): ${n(`null_${i}`)} rows, e.g. ${contract.key.join('|')} = ${await sample(`select ${keyList} from ${q(m)} where ${q(c)} is null`)}`);
  }
  for (const [i, cols] of uniques.entries()) {
    checks.push(`unique(${cols.join(', ')})`);
    if (n(`unique_${i}`) > 0) failures.push(`unique(${cols.join(', ')}): ${n(`unique_${i}`)} values repeated, e.g. ${await sample(dupes(cols))}`);
  }
  for (const [i, r] of relationships.entries()) {
    checks.push(`relationship(${r.column} -> ${r.to}.${r.field})`);
    if (n(`missing_${i}`) > 0) failures.push(`relationship(${r.column} -> ${r.to}.${r.field}): ${n(`missing_${i}`)} values missing from ${r.to}, e.g. ${await sample(missing(r))}`);
  }
  for (const [i, a] of acceptedValues.entries()) {
    checks.push(`accepted_values(${a.column})`);
    if (n(`outside_${i}`) > 0) failures.push(`accepted_values(${a.column}): ${n(`outside_${i}`)} values outside the list, e.g. ${await sample(outside(a))}`);
  }

  if (failures.length > 0) {
    throw new ContractError(`contract of ${m} failed for s3://${location.bucket}/${location.prefix}: ${failures.join('; ')}`);
  }
  return { model: m, rows: total, checks };
}

/**
 * Compares the written columns, names in order and types, with the expected ones. The left join on
 * a one-row table yields a row even when the model is empty, and typeof is static on both engines.
 */
async function columnProblem(
  rows: (sql: string) => Promise<Array<Record<string, unknown>>>,
  m: string,
  expected: ReadonlyArray<{ name: string; type: string }>,
): Promise<string | undefined> {
  const [row] = await rows(`select t.* from (select 1 as one_row) o left join ${q(m)} t on true limit 1`);
  const actual = Object.keys(row ?? {});
  const names = expected.map((c) => c.name);
  if (actual.join(',') !== names.join(',')) return `columns: expected ${names.join(', ')}; found ${actual.join(', ')}`;
  const [types] = await rows(`select ${names.map((c, i) => `typeof(t.${q(c)}) as c${i}`).join(', ')} from (select 1 as one_row) o left join ${q(m)} t on true limit 1`);
  const wrong = expected
    .map((c, i) => ({ c, found: normaliseType(String(types[`c${i}`])) }))
    .filter(({ c, found }) => found !== c.type)
    .map(({ c, found }) => `${c.name} is ${found}, expected ${c.type}`);
  return wrong.length > 0 ? `column types: ${wrong.join(', ')}` : undefined;
}

/** 'TIMESTAMP' (DuckDB) and 'timestamp(3)' (Trino) are both 'timestamp'. */
export function normaliseType(t: string): string {
  return t.toLowerCase().replace(/\(.*\)$/, '').trim();
}
