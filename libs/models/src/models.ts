import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueryDialect } from '@trips/core';
import { CATALOG, table, type TableDef } from '@trips/pipeline';
import { expand, type Vars } from './macros';

/** A catalog table that has a SQL model. */
export type ModelTable = TableDef & { model: NonNullable<TableDef['model']> };

/** The tables with a model, in catalog order (each after those it reads). */
export function modelTables(catalog: readonly TableDef[] = CATALOG): ModelTable[] {
  return catalog.filter((t): t is ModelTable => t.model !== undefined);
}

/**
 * The folder holding the .sql files, one folder per layer: `sql/` beside this module in the
 * sources, and beside the bundle when an app is built (its build copies libs/models/src/sql there
 * as an asset).
 */
export const SQL_DIR = join(__dirname, 'sql');

/** Where a table's model SQL is. */
export function sqlPath(t: TableDef, sqlDir = SQL_DIR): string {
  return join(sqlDir, t.layer, `${t.id}.sql`);
}

/** The model's SQL with its macros and variables expanded for `dialect`. */
export function renderModel(t: string | TableDef, dialect: QueryDialect, vars: Vars = {}, sqlDir = SQL_DIR): string {
  const def = typeof t === 'string' ? table(t) : t;
  if (!def.model) throw new Error(`table ${def.id} has no model`);
  const missing = (def.model.vars ?? []).filter((v) => !(v in vars));
  if (missing.length > 0) throw new Error(`model ${def.id} needs the variables ${missing.join(', ')}`);
  const path = sqlPath(def, sqlDir);
  let sql: string;
  try {
    sql = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the SQL of model ${def.id} at ${path}: ${(e as Error).message}`);
  }
  return expand(sql, dialect, vars, `${def.layer}/${def.id}.sql`);
}
