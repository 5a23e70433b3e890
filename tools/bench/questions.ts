/**
 * Every question `trips query` answers, timed against a brute-force query over the facts that
 * gives the same answer, on the same warehouse in the same run (used by weekly-average and scale).
 */
import { largestGroups, latestDatasource, q, regionsOfDatasource, weeklyAverage, type WarehouseQueries, type WeeklyAnswer, type WeeklyRequest } from '@trips/warehouse';

export interface QuestionTiming {
  question: string;
  /**
   * Median of the warm runs, milliseconds, asked as a session asks again: the question prepared on
   * the connection, PostgreSQL's plan kept from the sixth ask on (QueryOptions.reuse).
   */
  ms: number;
  /**
   * Median of up to 5 asks planned afresh each time, as `trips query` asks (once per process),
   * milliseconds; after the warm runs, so without a warm-up of its own. Absent from the JSON of runs
   * before 5141f04, which `--from-json` renders with the column empty.
   */
  onceMs: number;
  bruteMs: number;
  speedup: number;
  /** The question's answer equals the brute-force one. */
  same: boolean;
}

/** Median wall time of `runs` calls, after one warm-up call unless `warm` already (the caches filled by the calls before), and the last result. */
async function timed<T>(fn: () => Promise<T>, runs: number, warm = false): Promise<{ ms: number; result: T }> {
  let result = warm ? undefined : await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    result = await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  // Warm, at least one call ran above (runs >= 1).
  return { ms: times[Math.floor(times.length / 2)], result: result as T };
}

type BenchBox = { minLon: number; minLat: number; maxLon: number; maxLat: number };
/** Over the whole of Prague: its edges lie where few trips start or end. */
const BOX: BenchBox = { minLon: 14.22, minLat: 49.94, maxLon: 14.71, maxLat: 50.18 };
/**
 * A district of Prague, its edges through the city's busiest cells: the trips near a box's edge are
 * checked one by one, so this is the box questions' hard case.
 */
const DISTRICT: BenchBox = { minLon: 14.4, minLat: 50.04, maxLon: 14.48, maxLat: 50.1 };
const inBox = (side: 'origin' | 'dest', box = BOX) => `${side}_lon between ${box.minLon} and ${box.maxLon} and ${side}_lat between ${box.minLat} and ${box.maxLat}`;

interface Case {
  question: string;
  fast: (wh: WarehouseQueries) => Promise<unknown>;
  brute: (wh: WarehouseQueries) => Promise<unknown>;
  same: (fast: unknown, brute: unknown) => boolean;
}

/** The warehouse asked without keeping any question's plan. */
const unprepared = (wh: WarehouseQueries): WarehouseQueries => ({ dialect: wh.dialect, query: (sql, params) => wh.query(sql, params), close: () => wh.close() });

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
/** The same trip counts, in order (groups tied in trips may come in another order). */
const sameTrips = (a: unknown, b: unknown) => sameJson((a as Array<{ trips: number }>).map((r) => Number(r.trips)), (b as Array<{ trips: number }>).map((r) => Number(r.trips)));

/** A weekly question and its brute force: the count per week of the facts `where` keeps. */
function weekly(question: string, request: WeeklyRequest, where: string): Case {
  return {
    question,
    fast: (wh) => weeklyAverage(wh, request),
    brute: (wh) => wh.query<{ n: number }>(`select cast(date_trunc('week', trip_ts) as date) as w, count(*) as n from trips.fact_trips f where ${where} group by 1`),
    same: (fast, brute) => (brute as Array<{ n: number }>).reduce((s, r) => s + Number(r.n), 0) === (fast as WeeklyAnswer).totalTrips,
  };
}

/**
 * Times each question (`runs` warm runs; brute force `bruteRuns`; those whose name holds `only`, if
 * given) and checks its answer. The region
 * is Prague and the box lies over Prague: the generator's largest city; the district box lies in it.
 * The groups are asked for everywhere and in the region with the fewest trips.
 */
export async function measureQuestions(wh: WarehouseQueries, runs: number, bruteRuns: number, only?: string): Promise<QuestionTiming[]> {
  const [datasource] = await wh.query<{ datasource_key: string }>(
    'select datasource_key from trips.agg_datasource_region group by 1 order by sum(trips) desc, 1 limit 1',
  );
  // The region with the fewest trips: its largest groups, were they read from every region's large
  // groups, would cost those of every region divided by its share.
  const [smallest] = await wh.query<{ region_key: string }>(
    'select cast(a.region_key as varchar(36)) as region_key from trips.agg_weekly_region a join trips.dim_region r on r.region_key = a.region_key group by 1, r.name order by sum(a.trips), r.name limit 1',
  );
  const cases: Case[] = [
    weekly('weekly-average, region', { area: { region: 'Prague' } }, "f.region_key = (select region_key from trips.dim_region where name = 'Prague')"),
    weekly('weekly-average, box (origin)', { area: { box: BOX, match: 'origin' } }, inBox('origin')),
    weekly('weekly-average, box (destination)', { area: { box: BOX, match: 'destination' } }, inBox('dest')),
    weekly('weekly-average, box (both)', { area: { box: BOX, match: 'both' } }, `${inBox('origin')} and ${inBox('dest')}`),
    weekly('weekly-average, district (origin)', { area: { box: DISTRICT, match: 'origin' } }, inBox('origin', DISTRICT)),
    weekly('weekly-average, district (destination)', { area: { box: DISTRICT, match: 'destination' } }, inBox('dest', DISTRICT)),
    weekly('weekly-average, district (both)', { area: { box: DISTRICT, match: 'both' } }, `${inBox('origin', DISTRICT)} and ${inBox('dest', DISTRICT)}`),
    {
      question: 'groups (largest 10)',
      fast: (w) => q<{ trips: number }>(w, largestGroups(10)),
      brute: (w) => w.query<{ trips: number }>('select trip_group_key, count(*) as trips from trips.fact_trips group by 1 order by 2 desc, 1 limit 10'),
      same: sameTrips,
    },
    {
      question: 'groups (largest 10), smallest region',
      fast: (w) => q<{ trips: number }>(w, largestGroups(10, smallest?.region_key ?? '')),
      brute: (w) => w.query<{ trips: number }>('select trip_group_key, count(*) as trips from trips.fact_trips where cast(region_key as varchar(36)) = $1 group by 1 order by 2 desc, 1 limit 10', [smallest?.region_key ?? '']),
      same: sameTrips,
    },
    {
      question: 'latest-datasource (top 3)',
      fast: (w) => q(w, latestDatasource(3)),
      brute: (w) =>
        w.query(
          `with top_regions as (select region_key, count(*) as trips from trips.fact_trips group by region_key order by trips desc, region_key limit 3),
           ranked as (select f.region_key, f.datasource_key, f.trip_ts, row_number() over (partition by f.region_key order by f.trip_ts desc, f.datasource_key) as rn from trips.fact_trips f)
           select r.name as region, t.trips, d.name as latest_datasource, to_char(k.trip_ts, 'YYYY-MM-DD HH24:MI:SS') as latest_trip_ts
           from ranked k join top_regions t using (region_key) join trips.dim_region r using (region_key) join trips.dim_datasource d on d.datasource_key = k.datasource_key
           where k.rn = 1 order by t.trips desc, r.name`,
        ),
      same: sameJson,
    },
    {
      question: 'regions (of the largest datasource)',
      fast: (w) => q(w, regionsOfDatasource(datasource?.datasource_key ?? '')),
      brute: (w) =>
        w.query(
          'select r.name as region, count(*) as trips from trips.fact_trips f join trips.dim_region r using (region_key) where f.datasource_key = $1 group by r.name order by trips desc, r.name',
          [datasource?.datasource_key ?? ''],
        ),
      same: sameJson,
    },
  ];
  const out: QuestionTiming[] = [];
  const chosen = cases.filter((c) => only === undefined || c.question.includes(only));
  if (chosen.length === 0) throw new Error(`no question's name holds "${only}": ${cases.map((c) => c.question).join('; ')}`);
  for (const c of chosen) {
    const fast = await timed(() => c.fast(wh), runs);
    const once = await timed(() => c.fast(unprepared(wh)), Math.min(runs, 5), true);
    const brute = await timed(() => c.brute(wh), bruteRuns);
    out.push({ question: c.question, ms: +fast.ms.toFixed(2), onceMs: +once.ms.toFixed(2), bruteMs: +brute.ms.toFixed(2), speedup: +(brute.ms / fast.ms).toFixed(1), same: c.same(fast.result, brute.result) });
  }
  return out;
}

/** The timings as lines for people. */
export function questionLines(timings: QuestionTiming[]): string[] {
  return [
    `${'question'.padEnd(38)} ${'ms'.padStart(9)} ${'once ms'.padStart(9)} ${'brute ms'.padStart(9)} ${'speed-up'.padStart(9)}  same answer`,
    ...timings.map((t) => `${t.question.padEnd(38)} ${t.ms.toFixed(1).padStart(9)} ${t.onceMs.toFixed(1).padStart(9)} ${t.bruteMs.toFixed(1).padStart(9)} ${`${t.speedup}x`.padStart(9)}  ${t.same}`),
  ];
}
