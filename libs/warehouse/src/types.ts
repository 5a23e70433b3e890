import type { WarehouseDialect as Dialect } from '@trips/core';
import type { Column } from '@trips/pipeline';

/** Warehouse type of a catalog column: text of the column's width in bytes, fixed-width keys as char. */
export function sqlType(c: Column, dialect: Dialect): string {
  switch (c.type) {
    case 'varchar':
      if (c.maxBytes === undefined) throw new Error(`column ${c.name} has no maxBytes: the warehouse needs a width`);
      return c.fixed ? `char(${c.maxBytes})` : `varchar(${c.maxBytes})`;
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
