import { UsageError, parseDs } from '@trips/core';
import type { Warehouse } from './port';
import { dataWeeks, gridCellSizes, knownRegion, weekStart, weekStarts, weeklyByBox, weeklyByRegion, type Box, type BoxMatch } from './queries';

/** The questions' rules (argument checks, week lists, zero-filled weeks) kept beside their SQL, for every caller. */
type Values = Record<string, string | boolean | undefined>;

export function parseBox(text: string): Box {
  const parts = text.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length !== 4 || parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n))) throw new UsageError(`--bbox must be MIN_LON,MIN_LAT,MAX_LON,MAX_LAT (four numbers), got "${text}"`);
  const [minLon, minLat, maxLon, maxLat] = nums;
  if (minLon > maxLon) throw new UsageError(`--bbox: min longitude ${minLon} is greater than max longitude ${maxLon}`);
  if (minLat > maxLat) throw new UsageError(`--bbox: min latitude ${minLat} is greater than max latitude ${maxLat}`);
  if (minLon < -180 || maxLon > 180 || minLat < -90 || maxLat > 90) throw new UsageError(`--bbox must lie within longitude [-180, 180] and latitude [-90, 90], got "${text}"`);
  return { minLon, minLat, maxLon, maxLat };
}

export const q = <T>(wh: Warehouse, sql: { text: string; params: unknown[] }) => wh.query<T>(sql.text, sql.params);

export interface WeeklyAnswer {
  area: string;
  match?: BoxMatch;
  fromWeek: string;
  toWeek: string;
  weeks: Array<{ week_start_date: string; trips: number }>;
  totalTrips: number;
  weeklyAverage: number;
}

/** The weekly-average question; exported so tests can compare it with a brute-force answer. */
export async function weeklyAverage(wh: Warehouse, values: Values): Promise<WeeklyAnswer> {
  if ((values.region === undefined) === (values.bbox === undefined)) throw new UsageError('trips query weekly-average: give exactly one of --region NAME or --bbox MIN_LON,MIN_LAT,MAX_LON,MAX_LAT');
  const match = (values.match ?? 'origin') as BoxMatch;
  if (!['origin', 'destination', 'both'].includes(match)) throw new UsageError(`--match must be origin, destination or both, got "${values.match}"`);
  const from = typeof values.from === 'string' ? parseDs(values.from, '--from') : undefined;
  const to = typeof values.to === 'string' ? parseDs(values.to, '--to') : undefined;
  if (from && to && from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  const box = typeof values.bbox === 'string' ? parseBox(values.bbox) : undefined;

  let regionKey: string | undefined;
  let area: string;
  if (typeof values.region === 'string') {
    const found = await q<{ region_key: string; name: string }>(wh, knownRegion(values.region));
    if (found.length === 0) {
      const names = (await wh.query<{ name: string }>('select name from trips.dim_region order by name')).map((r) => r.name);
      throw new UsageError(`unknown region "${values.region}": the warehouse knows ${names.length ? names.join(', ') : 'no region yet'}`);
    }
    regionKey = found[0].region_key;
    area = `region ${found[0].name}`;
  } else area = `box ${values.bbox} (${match})`;

  const [range] = await q<{ first_week: string | null; last_week: string | null }>(wh, dataWeeks());
  const fromWeek = weekStart(from ?? range.first_week ?? to ?? '1970-01-01');
  const toWeek = weekStart(to ?? range.last_week ?? fromWeek);
  if (fromWeek > toWeek) throw new UsageError(`the period ends (${toWeek}) before it starts (${fromWeek})`);
  let rows: Array<{ week_start_date: string; trips: string | number }>;
  if (box) {
    const [sizes] = await q<{ min_deg: number | null; max_deg: number | null }>(wh, gridCellSizes());
    if (sizes.min_deg !== null && sizes.min_deg !== sizes.max_deg) throw new UsageError(`the warehouse holds trip groups of grid cell sizes ${sizes.min_deg} to ${sizes.max_deg}; reload with one TRIPS_GRID_CELL_DEG`);
    rows = sizes.min_deg === null ? [] : await q(wh, weeklyByBox(box, match, Number(sizes.min_deg), fromWeek, toWeek));
  } else rows = await q(wh, weeklyByRegion(regionKey as string, fromWeek, toWeek));
  const byWeek = new Map(rows.map((r) => [r.week_start_date, Number(r.trips)]));
  const weeks = weekStarts(fromWeek, toWeek).map((w) => ({ week_start_date: w, trips: byWeek.get(w) ?? 0 }));
  const totalTrips = weeks.reduce((s, w) => s + w.trips, 0);
  return { area, match: box ? match : undefined, fromWeek, toWeek, weeks, totalTrips, weeklyAverage: weeks.length ? totalTrips / weeks.length : 0 };
}

