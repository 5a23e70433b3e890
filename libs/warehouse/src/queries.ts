import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The analysts' questions. Each lives once, as a SQL file in sql/ that Postgres and Redshift both
 * accept ($n parameters, named in its header; no generate_series, no Postgres-only casts), which
 * an analyst can run by hand (`trips sql --file … --param …`) and `trips query` runs with checked
 * arguments. Week lists and zero-filling are done by the caller.
 */
export const QUESTIONS_DIR = join(__dirname, 'sql');

/** A question's SQL; `{{ name }}` placeholders (a file serving several variants) are filled from `fill`. */
export function questionSql(name: string, fill: Record<string, string> = {}): string {
  const text = readFileSync(join(QUESTIONS_DIR, `${name}.sql`), 'utf8');
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => {
    if (!(k in fill)) throw new Error(`question ${name}: no value for {{ ${k} }}`);
    return fill[k];
  });
}
export interface Sql {
  text: string;
  params: unknown[];
}

export type BoxMatch = 'origin' | 'destination' | 'both';

export interface Box {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

/** Monday (UTC) of the ISO week holding `date` (YYYY-MM-DD). */
export function weekStart(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/** Every week start from the week of `from` to the week of `to`. */
export function weekStarts(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${weekStart(from)}T00:00:00Z`); t <= Date.parse(`${weekStart(to)}T00:00:00Z`); t += 7 * 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

const plusDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** A question of the sql/ folder with its parameters. */
const ask = (name: string, ...params: unknown[]): Sql => ({ text: questionSql(name), params });

export const knownRegion = (name: string): Sql => ask('region_by_name', name);
export const regionNames = (): Sql => ask('region_names');
export const knownDatasource = (name: string): Sql => ask('datasource_by_name', name);
/** The first and last week holding trips. */
export const dataWeeks = (): Sql => ask('data_weeks');
/** The grid cell sizes the trip groups were built with. */
export const gridCellSizes = (): Sql => ask('grid_cell_sizes');

/** Trips per week of one region between two week starts (both included); weeks without trips are absent. */
export function weeklyByRegion(regionKey: string, fromWeek: string, toWeek: string): Sql {
  return ask('weekly_trips_region', regionKey, fromWeek, toWeek);
}

/**
 * Trips per week whose origin, destination or both lie in the box (sql/weekly_trips_box_*.sql):
 * exact for any box. For one side, whole cells come from the weekly cell aggregate; for both, pairs
 * of whole blocks come from the weekly block-pair aggregate. Trips on the box's edge (for both, in the
 * ring between the blocks and the edge) are checked one by one.
 */
export function weeklyByBox(box: Box, match: BoxMatch, cellDeg: number, fromWeek: string, toWeek: string): Sql {
  const corners = [box.minLon, box.minLat, box.maxLon, box.maxLat];
  const end = plusDays(toWeek, 7);
  const params = [fromWeek, toWeek, end, ...corners, cellDeg];
  if (match === 'both') return { text: questionSql('weekly_trips_box_both'), params };
  return { text: questionSql('weekly_trips_box_side', { side: match === 'origin' ? 'origin' : 'dest' }), params };
}

/**
 * How many large trip groups the largest `top` groups read first, in size class order: enough that
 * the picks are almost always of a higher class than the last group read, which proves them the
 * largest (sql/largest_trip_groups.sql); otherwise the question reads every group of their class or
 * higher. A constant count lets PostgreSQL read them from the top of the class index; a bound
 * computed in the query (the class of the top-th group) cannot be estimated and made it scan the
 * whole aggregate (3 s at 98M trips).
 */
export const largeGroupsRead = (top: number) => 10 * top + 100;

/** The largest groups of similar trips, with their cells' centres; `read` as largeGroupsRead (at least `top`). */
export function largestGroups(top: number, regionKey?: string, read = largeGroupsRead(top)): Sql {
  if (!(read >= top)) throw new Error(`largestGroups: read (${read}) must be at least top (${top})`);
  return ask('largest_trip_groups', top, regionKey ?? '', read);
}

/** For each of the `top` most common regions, the datasource of its latest trip. */
export function latestDatasource(top: number): Sql {
  return ask('latest_datasource_top_regions', top);
}

/** Regions where the datasource appeared, with its trip count there. */
export function regionsOfDatasource(datasourceKey: string): Sql {
  return ask('regions_of_datasource', datasourceKey);
}
