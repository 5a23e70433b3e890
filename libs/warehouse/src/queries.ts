import { WAREHOUSE_SCHEMA as S } from './port';

/**
 * The analysts' questions as SQL that Postgres and Redshift both accept ($n parameters; no
 * generate_series, no Postgres-only casts). Week lists and zero-filling are done by the caller.
 */
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

export const knownRegion = (name: string): Sql => ({ text: `select region_key, name from ${S}.dim_region where lower(name) = lower($1)`, params: [name] });

export const dataWeeks = (): Sql => ({ text: `select to_char(min(week_start_date), 'YYYY-MM-DD') as first_week, to_char(max(week_start_date), 'YYYY-MM-DD') as last_week from ${S}.agg_weekly_region`, params: [] });

/** Trips per week of one region between two week starts (both included); weeks without trips are absent. */
export function weeklyByRegion(regionKey: string, fromWeek: string, toWeek: string): Sql {
  return {
    text: `select to_char(week_start_date, 'YYYY-MM-DD') as week_start_date, sum(trips) as trips from ${S}.agg_weekly_region where region_key = $1 and week_start_date between cast($2 as date) and cast($3 as date) group by week_start_date`,
    params: [regionKey, fromWeek, toWeek],
  };
}

/** Grid cells a box covers: `inner` lie wholly inside (with a margin against rounding), `outer` touch it. */
export function cellRanges(box: Box, cellDeg: number) {
  const eps = 1e-9;
  const range = (lo: number, hi: number) => ({
    inner: [Math.ceil((lo + eps) / cellDeg), Math.floor((hi - eps) / cellDeg) - 1] as const,
    outer: [Math.floor((lo - eps) / cellDeg), Math.floor((hi + eps) / cellDeg)] as const,
  });
  return { x: range(box.minLon, box.maxLon), y: range(box.minLat, box.maxLat) };
}

/**
 * Trips per week whose origin, destination or both lie in the box. Whole cells inside the box are
 * counted from the weekly cell aggregates; trips in the cells on the box's edge are checked one by
 * one, so the answer is exact for any box. For one side, the edge is cut into four disjoint strips
 * (left, right, bottom, top) that the (x, y) and (y, x) indexes serve; `both` scans the trips whose
 * origin cell touches the box, as pairs of cells rarely repeat.
 */
export function weeklyByBox(box: Box, match: BoxMatch, cellDeg: number, fromWeek: string, toWeek: string): Sql {
  const { x, y } = cellRanges(box, cellDeg);
  const params: unknown[] = [fromWeek, toWeek, plusDays(toWeek, 7)];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const period = 'trip_ts >= cast($1 as date) and trip_ts < cast($3 as date)';
  const rect = (side: string, x0: number, x1: number, y0: number, y1: number) =>
    `${side}_cell_x between ${p(x0)} and ${p(x1)} and ${side}_cell_y between ${p(y0)} and ${p(y1)}`;
  const inner = (side: string) => rect(side, x.inner[0], x.inner[1], y.inner[0], y.inner[1]);
  const inBox = (side: string) => `${side}_lon between ${p(box.minLon)} and ${p(box.maxLon)} and ${side}_lat between ${p(box.minLat)} and ${p(box.maxLat)}`;
  const perWeek = (where: string) => `select cast(date_trunc('week', trip_ts) as date) as week_start_date, count(*) as trips from ${S}.fact_trips where ${period} and ${where} group by 1`;
  const parts: string[] = [];
  if (match === 'both') {
    // Pairs of cells rarely repeat, so no aggregate helps: filter the trips themselves (a full scan).
    parts.push(perWeek(`${inBox('origin')} and ${inBox('dest')}`));
  } else {
    const side = match === 'origin' ? 'origin' : 'dest';
    parts.push(`select week_start_date, sum(trips) as trips from ${S}.agg_weekly_${side}_cell where week_start_date between cast($1 as date) and cast($2 as date) and ${inner(side)} group by week_start_date`);
    // The edge ring as four disjoint rectangles; an empty inner range leaves the left strip covering everything.
    const [ix0, ix1] = x.inner[0] <= x.inner[1] && y.inner[0] <= y.inner[1] ? x.inner : [x.outer[1] + 1, x.outer[1]];
    const [iy0, iy1] = y.inner;
    const strips = [
      [x.outer[0], ix0 - 1, y.outer[0], y.outer[1]],
      [ix1 + 1, x.outer[1], y.outer[0], y.outer[1]],
      [ix0, ix1, y.outer[0], iy0 - 1],
      [ix0, ix1, iy1 + 1, y.outer[1]],
    ].filter(([a, b, c, d]) => a <= b && c <= d);
    for (const [a, b, c, d] of strips) parts.push(perWeek(`${rect(side, a, b, c, d)} and ${inBox(side)}`));
  }
  return {
    text: `select to_char(week_start_date, 'YYYY-MM-DD') as week_start_date, sum(trips) as trips from (${parts.join(' union all ')}) parts where week_start_date between cast($1 as date) and cast($2 as date) group by week_start_date`,
    params,
  };
}

/** The grid cell sizes the trip groups were built with (min and max: one index lookup each on Postgres). */
export const gridCellSizes = (): Sql => ({ text: `select min(cell_size_deg) as min_deg, max(cell_size_deg) as max_deg from ${S}.dim_trip_group`, params: [] });

/** The largest groups of similar trips, with their cells' centres. */
export function largestGroups(top: number, regionKey?: string): Sql {
  return {
    text:
      `select r.name as region, g.time_bucket, g.bucket_minutes, ` +
      `round(cast((g.origin_cell_x + 0.5) * g.cell_size_deg as numeric), 4) as origin_lon, round(cast((g.origin_cell_y + 0.5) * g.cell_size_deg as numeric), 4) as origin_lat, ` +
      `round(cast((g.dest_cell_x + 0.5) * g.cell_size_deg as numeric), 4) as dest_lon, round(cast((g.dest_cell_y + 0.5) * g.cell_size_deg as numeric), 4) as dest_lat, a.trips ` +
      `from ${S}.agg_trip_group a join ${S}.dim_trip_group g on g.trip_group_key = a.trip_group_key join ${S}.dim_region r on r.region_key = g.region_key ` +
      `${regionKey ? 'where g.region_key = $2 ' : ''}order by a.trips desc, a.trip_group_key limit $1`,
    params: regionKey ? [top, regionKey] : [top],
  };
}

/** For each of the `top` most common regions, the datasource of its latest trip. */
export function latestDatasource(top: number): Sql {
  return {
    text:
      `with top_regions as (select region_key, sum(trips) as trips from ${S}.agg_weekly_region group by region_key order by trips desc, region_key limit $1), ` +
      `ranked as (select f.region_key, f.datasource_key, f.trip_ts, row_number() over (partition by f.region_key order by f.trip_ts desc, f.datasource_key) as rn from ${S}.fact_trips f where f.region_key in (select region_key from top_regions)) ` +
      `select r.name as region, t.trips, d.name as latest_datasource, to_char(k.trip_ts, 'YYYY-MM-DD HH24:MI:SS') as latest_trip_ts ` +
      `from ranked k join top_regions t on t.region_key = k.region_key join ${S}.dim_region r on r.region_key = k.region_key join ${S}.dim_datasource d on d.datasource_key = k.datasource_key ` +
      `where k.rn = 1 order by t.trips desc, r.name`,
    params: [top],
  };
}

export const knownDatasource = (name: string): Sql => ({ text: `select datasource_key from ${S}.dim_datasource where lower(name) = lower($1)`, params: [name] });

/** Regions where the datasource appeared, with its trip count there. */
export function regionsOfDatasource(datasourceKey: string): Sql {
  return {
    text: `select r.name as region, count(*) as trips from ${S}.fact_trips f join ${S}.dim_region r on r.region_key = f.region_key where f.datasource_key = $1 group by r.name order by trips desc, r.name`,
    params: [datasourceKey],
  };
}
