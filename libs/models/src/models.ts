import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expand, type Dialect, type Vars } from './macros';
import type { ModelContract } from './contract';
import { cleanTripsContract } from './sql/staging/clean_trips.contract';
import { dimRegionContract } from './sql/dimensions/dim_region.contract';
import { dimDatasourceContract } from './sql/dimensions/dim_datasource.contract';
import { dimDateContract } from './sql/dimensions/dim_date.contract';
import { dimTimeOfDayContract } from './sql/dimensions/dim_time_of_day.contract';
import { dimTripGroupContract } from './sql/dimensions/dim_trip_group.contract';
import { factTripsContract } from './sql/facts/fact_trips.contract';

export interface ModelDefinition {
  name: string;
  layer: 'staging' | 'dimensions' | 'facts';
  /** Tables the SQL reads, by the plain name it uses in `from`. */
  inputs: string[];
  /** Variables the SQL needs besides the dialect. */
  vars: string[];
  contract: ModelContract;
}

const model = (name: string, layer: ModelDefinition['layer'], inputs: string[], contract: ModelContract, vars: string[] = []): ModelDefinition => ({
  name,
  layer,
  inputs,
  vars,
  contract,
});

const GRID_VARS = ['cell_size_deg', 'bucket_minutes'];

export const MODELS = {
  clean_trips: model('clean_trips', 'staging', ['validated_trips'], cleanTripsContract),
  dim_region: model('dim_region', 'dimensions', ['clean_trips'], dimRegionContract),
  dim_datasource: model('dim_datasource', 'dimensions', ['clean_trips'], dimDatasourceContract),
  dim_date: model('dim_date', 'dimensions', ['clean_trips'], dimDateContract),
  dim_time_of_day: model('dim_time_of_day', 'dimensions', [], dimTimeOfDayContract),
  dim_trip_group: model('dim_trip_group', 'dimensions', ['clean_trips'], dimTripGroupContract, GRID_VARS),
  fact_trips: model('fact_trips', 'facts', ['clean_trips'], factTripsContract, GRID_VARS),
} as const satisfies Record<string, ModelDefinition>;

export type ModelName = keyof typeof MODELS;

/** The dimensions build-dimensions writes, in the order it writes them. */
export const DIMENSIONS = ['dim_region', 'dim_datasource', 'dim_date', 'dim_time_of_day', 'dim_trip_group'] as const satisfies readonly ModelName[];

/**
 * The folder holding the .sql files: `sql/` beside this module in the sources, and beside the
 * bundle when an app is built (its build copies libs/models/src/sql there as an asset).
 */
export const SQL_DIR = join(__dirname, 'sql');

/** The model's SQL with its macros and variables expanded for `dialect`. */
export function renderModel(name: ModelName, dialect: Dialect, vars: Vars = {}): string {
  const def: ModelDefinition | undefined = MODELS[name];
  if (!def) throw new Error(`unknown model ${name}`);
  const missing = def.vars.filter((v) => !(v in vars));
  if (missing.length > 0) throw new Error(`model ${name} needs the variables ${missing.join(', ')}`);
  const path = join(SQL_DIR, def.layer, `${name}.sql`);
  let sql: string;
  try {
    sql = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the SQL of model ${name} at ${path}: ${(e as Error).message}`);
  }
  return expand(sql, dialect, vars, `${def.layer}/${name}.sql`);
}
