import { UsageError, parseDs } from '@trips/core';
import type { WarehouseQueries } from './port';
import { boxEdgeTrips, boxMethod, dataWeeks, gridCellSizes, knownRegion, regionNames, weekStart, weekStarts, weeklyByBox, weeklyByBoxScan, weeklyByRegion, type Box, type BoxMatch, type BoxMethod, type Sql } from './queries';

/** The questions' rules (argument checks, week lists, zero-filled weeks), kept beside their SQL for every caller. */

/** Asks a question (a file of sql/): for reuse, as the same few texts are asked again in a session. */
export const q = <T>(wh: WarehouseQueries, sql: Sql) => wh.query<T>(sql.text, sql.params, { reuse: true });

/** What weekly-average is asked: a region or a box, and optionally the period (its whole ISO weeks). */
export interface WeeklyRequest {
  area: { region: string } | { box: Box; match: BoxMatch };
  from?: string;
  to?: string;
  /**
   * A box: from the aggregates, by reading every trip of the period, or (`auto`, the default) the
   * one that reads less, by the trips along the box's edge (queries.ts, boxMethod). The answer is
   * the same.
   */
  method?: 'auto' | BoxMethod;
}

export interface WeeklyAnswer {
  area: string;
  match?: BoxMatch;
  /** A box: how it was answered. */
  method?: BoxMethod;
  fromWeek: string;
  toWeek: string;
  weeks: Array<{ week_start_date: string; trips: number }>;
  totalTrips: number;
  weeklyAverage: number;
}

/** Refuses a box no trip can be in: corners out of order or off the globe. */
export function checkBox(box: Box): Box {
  const { minLon, minLat, maxLon, maxLat } = box;
  if (![minLon, minLat, maxLon, maxLat].every(Number.isFinite)) throw new UsageError(`box: every corner must be a number, got ${JSON.stringify(box)}`);
  if (minLon > maxLon) throw new UsageError(`box: min longitude ${minLon} is greater than max longitude ${maxLon}`);
  if (minLat > maxLat) throw new UsageError(`box: min latitude ${minLat} is greater than max latitude ${maxLat}`);
  if (minLon < -180 || maxLon > 180 || minLat < -90 || maxLat > 90) throw new UsageError(`box: must lie within longitude [-180, 180] and latitude [-90, 90], got ${minLon},${minLat},${maxLon},${maxLat}`);
  return box;
}

/** The weekly average of trips in an area; exported so tests can compare it with a brute-force answer. */
export async function weeklyAverage(wh: WarehouseQueries, req: WeeklyRequest): Promise<WeeklyAnswer> {
  const from = req.from !== undefined ? parseDs(req.from, 'from') : undefined;
  const to = req.to !== undefined ? parseDs(req.to, 'to') : undefined;
  if (from && to && from > to) throw new UsageError(`the period starts (${from}) after it ends (${to})`);
  const box = 'box' in req.area ? checkBox(req.area.box) : undefined;
  const match = 'match' in req.area ? req.area.match : undefined;
  if (match !== undefined && !['origin', 'destination', 'both'].includes(match)) throw new UsageError(`match must be origin, destination or both, got "${match}"`);
  if (req.method !== undefined && !['auto', 'aggregates', 'scan'].includes(req.method)) throw new UsageError(`method must be auto, aggregates or scan, got "${req.method}"`);

  let regionKey: string | undefined;
  let area: string;
  if ('region' in req.area) {
    const found = await q<{ region_key: string; name: string }>(wh, knownRegion(req.area.region));
    if (found.length === 0) {
      const names = (await q<{ name: string }>(wh, regionNames())).map((r) => r.name);
      throw new UsageError(`unknown region "${req.area.region}": the warehouse knows ${names.length ? names.join(', ') : 'no region yet'}`);
    }
    regionKey = found[0].region_key;
    area = `region ${found[0].name}`;
  } else area = `box ${box?.minLon},${box?.minLat},${box?.maxLon},${box?.maxLat} (${match})`;

  const [range] = await q<{ first_week: string | null; last_week: string | null }>(wh, dataWeeks());
  const fromWeek = weekStart(from ?? range.first_week ?? to ?? '1970-01-01');
  const toWeek = weekStart(to ?? range.last_week ?? fromWeek);
  if (fromWeek > toWeek) throw new UsageError(`the period ends (${toWeek}) before it starts (${fromWeek})`);
  let rows: Array<{ week_start_date: string; trips: string | number }>;
  let method: BoxMethod | undefined;
  if (box && match) {
    const [sizes] = await q<{ min_deg: number | null; max_deg: number | null }>(wh, gridCellSizes());
    if (sizes.min_deg !== null && sizes.min_deg !== sizes.max_deg) throw new UsageError(`the warehouse holds trip groups of grid cell sizes ${sizes.min_deg} to ${sizes.max_deg}; reload with one TRIPS_GRID_CELL_DEG`);
    const asked = req.method === 'aggregates' || req.method === 'scan' ? req.method : undefined;
    if (sizes.min_deg === null) {
      // No trip groups yet: no trips either.
      method = asked ?? 'aggregates';
      rows = [];
    } else {
      const cellDeg = Number(sizes.min_deg);
      method = asked ?? boxMethod((await q<{ origin_edge_trips: string; dest_edge_trips: string; period_trips: string }>(wh, boxEdgeTrips(box, match, cellDeg, fromWeek, toWeek)))[0], match);
      // The scan is planned afresh each time: its plan costs nothing beside its seconds of reading,
      // and a generic plan, blind to a period that spans every day, read the facts through the
      // trip_ts index instead of in order (1.7 times as long at 98M trips: docs/scale.md).
      const counted = method === 'scan' ? weeklyByBoxScan(box, match, fromWeek, toWeek) : weeklyByBox(box, match, cellDeg, fromWeek, toWeek);
      rows = await wh.query(counted.text, counted.params, { reuse: method !== 'scan' });
    }
  } else rows = await q(wh, weeklyByRegion(regionKey as string, fromWeek, toWeek));
  const byWeek = new Map(rows.map((r) => [r.week_start_date, Number(r.trips)]));
  const weeks = weekStarts(fromWeek, toWeek).map((w) => ({ week_start_date: w, trips: byWeek.get(w) ?? 0 }));
  const totalTrips = weeks.reduce((s, w) => s + w.trips, 0);
  return { area, match, ...(method ? { method } : {}), fromWeek, toWeek, weeks, totalTrips, weeklyAverage: weeks.length ? totalTrips / weeks.length : 0 };
}
