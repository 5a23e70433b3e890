import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BLOCK_CELLS } from './aggregates';

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
 * How a box question is answered: from the aggregates, reading the trips along the box's edge one by
 * one (weeklyByBox), or by reading every trip of the period in order (weeklyByBoxScan).
 */
export type BoxMethod = 'aggregates' | 'scan';

/**
 * The share of the period's trips along a box's edge above which reading every trip of the period
 * costs less than the aggregates' answer. Reading the edge's trips one by one (through the cell
 * indexes, then each trip's row) cost about 30 times as much per trip as reading all of them in
 * order: a district's box over Prague, whose edge holds 9% of the trips, took 5.4 s against 2.0 s
 * for reading every trip at 20M trips, 32 s against 10 s at 98M. A box over a whole city has a few
 * hundred trips along its edge.
 */
export const BOX_SCAN_EDGE_SHARE = 0.03;

/** The trips along the box's edge, per end, and the period's trips (sql/box_edge_trips.sql); its edge as `match` cuts the box. */
export function boxEdgeTrips(box: Box, match: BoxMatch, cellDeg: number, fromWeek: string, toWeek: string): Sql {
  return ask('box_edge_trips', fromWeek, toWeek, box.minLon, box.minLat, box.maxLon, box.maxLat, cellDeg, match === 'both' ? BLOCK_CELLS : 1);
}

/** The method for a box whose edge holds these trips (boxEdgeTrips' row): the aggregates unless the edge holds more than BOX_SCAN_EDGE_SHARE of the period's trips. */
export function boxMethod(edge: { origin_edge_trips: number | string; dest_edge_trips: number | string; period_trips: number | string }, match: BoxMatch): BoxMethod {
  const onEdge = (match === 'destination' ? 0 : Number(edge.origin_edge_trips)) + (match === 'origin' ? 0 : Number(edge.dest_edge_trips));
  return onEdge > BOX_SCAN_EDGE_SHARE * Number(edge.period_trips) ? 'scan' : 'aggregates';
}

/** Trips per week whose origin, destination or both lie in the box, by reading every trip of the period (sql/weekly_trips_box_scan.sql). */
export function weeklyByBoxScan(box: Box, match: BoxMatch, fromWeek: string, toWeek: string): Sql {
  const inBox = (end: 'origin' | 'dest') => `f.${end}_lon between b.min_lon and b.max_lon and f.${end}_lat between b.min_lat and b.max_lat`;
  const condition = match === 'origin' ? inBox('origin') : match === 'destination' ? inBox('dest') : `${inBox('origin')} and ${inBox('dest')}`;
  return { text: questionSql('weekly_trips_box_scan', { condition }), params: [fromWeek, plusDays(toWeek, 7), box.minLon, box.minLat, box.maxLon, box.maxLat] };
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
