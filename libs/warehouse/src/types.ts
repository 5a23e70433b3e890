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
