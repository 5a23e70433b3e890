import type { WarehouseDialect as Dialect } from '@trips/core';
import type { Column } from '@trips/pipeline';
import { WAREHOUSE_SCHEMA } from './port';

/** Warehouse type of a catalog column: text of the column's width in bytes; md5 keys as char(32) on Redshift, uuid on PostgreSQL. */
export function sqlType(c: Column, dialect: Dialect): string {
  switch (c.type) {
    case 'varchar':
      if (c.maxBytes === undefined) throw new Error(`column ${c.name} has no maxBytes: the warehouse needs a width`);
      if (c.md5Key) return dialect === 'postgres' ? 'uuid' : `char(${c.maxBytes})`;
      return `varchar(${c.maxBytes})`;
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

/** A column as a CREATE TABLE lists it: name, warehouse type, and NOT NULL unless the column is nullable. */
export function columnDdl(c: Column, dialect: Dialect): string {
  return `${c.name} ${sqlType(c, dialect)}${c.nullable ? '' : ' not null'}`;
}

/**
 * A PostgreSQL secondary index of a warehouse table (idempotent), named after the table and its
 * columns (`<table>_<col>_…_idx`; a column's `desc` is left out of the name).
 */
export function postgresIndexDdl(table: string, cols: readonly string[]): string {
  return `create index if not exists ${indexName(table, cols)} on ${WAREHOUSE_SCHEMA}.${table} (${cols.join(', ')})`;
}

/** The name postgresIndexDdl gives an index of `table` on `cols`. */
export function indexName(table: string, cols: readonly string[]): string {
  return `${table}_${cols.map((c) => c.replace(/ desc$/, '')).join('_')}_idx`;
}

/**
 * Fills `target` (its `columns`) with the rows of `select` when it is empty: a table new to a
 * warehouse that already holds what it is derived from. On PostgreSQL the emptiness is asked first,
 * in a DO block, so that the INSERT is planned only when it runs (planning one over the facts reads
 * every day partition's catalog entries: 60–100 ms for the aggregates at 106 partitions, which
 * every `trips query` and every load paid, through ensureSchema, to insert nothing). Redshift has
 * no DO blocks: there the condition is the SELECT's own, which `select(where)` adds to its WHERE.
 */
export function fillWhenEmpty(dialect: Dialect, target: string, columns: string, select: (where?: string) => string): string {
  const empty = `not exists (select 1 from ${target})`;
  if (dialect !== 'postgres') return `insert into ${target} (${columns}) ${select(empty)}`;
  return `do $backfill$ begin if ${empty} then insert into ${target} (${columns}) ${select()}; end if; end $backfill$`;
}
