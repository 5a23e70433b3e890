import { Random } from './random';

export interface City {
  region: string;
  lon: number;
  lat: number;
  weight: number;
  /** Datasources seen in this region, with weights. */
  datasources: Array<{ value: string; weight: number }>;
}

const common = [
  { value: 'funny_car', weight: 4 },
  { value: 'baba_car', weight: 3 },
  { value: 'bad_diesel_vehicles', weight: 2 },
  { value: 'pt_search_app', weight: 3 },
];

/** Realistic centres; cheap_mobile only in some regions, so "where did it appear" has an answer. */
export const CITIES: City[] = [
  { region: 'Prague', lon: 14.4378, lat: 50.0755, weight: 5, datasources: [...common, { value: 'cheap_mobile', weight: 2 }] },
  { region: 'Turin', lon: 7.6869, lat: 45.0703, weight: 4, datasources: [...common, { value: 'cheap_mobile', weight: 1 }] },
  { region: 'Hamburg', lon: 9.9937, lat: 53.5511, weight: 3, datasources: common },
  { region: 'Barcelona', lon: 2.1734, lat: 41.3851, weight: 2, datasources: common },
  { region: 'Lisbon', lon: -9.1393, lat: 38.7223, weight: 1, datasources: [...common, { value: 'cheap_mobile', weight: 3 }] },
];

export const HEADER = 'region,origin_coord,destination_coord,datetime,datasource';

/** Kinds of bad rows the generator writes; each breaks one validation rule. */
export const BAD_KINDS = ['blank_region', 'blank_datasource', 'bad_wkt', 'out_of_range', 'bad_datetime', 'column_count'] as const;
export type BadKind = (typeof BAD_KINDS)[number];

export interface GenerateOptions {
  seed: number;
  rows: number;
  /** First day of the trips' timestamps, YYYY-MM-DD. */
  start: string;
  days: number;
  badRatio: number;
  duplicateRatio: number;
}

export interface GeneratedRow {
  line: string;
  /** UTC day of the trip's timestamp. */
  day: string;
  bad?: BadKind;
  duplicate: boolean;
}

// Hours weighted like city traffic: morning and evening peaks, quiet nights.
const HOURS = [1, 0.5, 0.3, 0.3, 0.5, 1, 3, 7, 9, 6, 4, 4, 5, 5, 4, 5, 7, 9, 8, 5, 4, 3, 2, 1.5].map((weight, value) => ({ value, weight }));

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Trip rows in the input format, one at a time (memory stays flat whatever `rows` is). Trips start
 * and end near a few hotspots per city, so similar trips exist; the same seed gives the same rows.
 */
export function* generateRows(opts: GenerateOptions): Generator<GeneratedRow> {
  const rnd = new Random(opts.seed);
  const startMs = Date.parse(`${opts.start}T00:00:00Z`);
  const hotspots = new Map(CITIES.map((c) => [c.region, Array.from({ length: 6 }, () => ({ lon: c.lon + rnd.normal() * 0.04, lat: c.lat + rnd.normal() * 0.025 }))]));
  const cities = CITIES.map((c) => ({ value: c, weight: c.weight }));
  const recent: GeneratedRow[] = [];
  for (let i = 0; i < opts.rows; i++) {
    if (recent.length > 0 && rnd.next() < opts.duplicateRatio) {
      const original = recent[rnd.int(recent.length)];
      yield { line: original.line, day: original.day, duplicate: true };
      continue;
    }
    const city = rnd.weighted(cities);
    const spots = hotspots.get(city.region) as Array<{ lon: number; lat: number }>;
    const point = () => {
      const s = spots[rnd.int(spots.length)];
      return `POINT (${s.lon + rnd.normal() * 0.01} ${s.lat + rnd.normal() * 0.007})`;
    };
    const t = new Date(startMs + rnd.int(opts.days) * 86_400_000 + rnd.weighted(HOURS) * 3_600_000 + rnd.int(3600) * 1000);
    const day = t.toISOString().slice(0, 10);
    const datetime = `${day} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
    const fields = [city.region, point(), point(), datetime, rnd.weighted(city.datasources)];
    let bad: BadKind | undefined;
    if (rnd.next() < opts.badRatio) {
      bad = BAD_KINDS[rnd.int(BAD_KINDS.length)];
      breakRow(fields, bad, rnd);
    }
    const line = fields.join(',');
    const row: GeneratedRow = { line, day, bad, duplicate: false };
    // Only good rows are repeated as duplicates: a repeated bad row is simply rejected twice.
    if (!bad) {
      if (recent.length < 1000) recent.push(row);
      else recent[rnd.int(recent.length)] = row;
    }
    yield row;
  }
}

function breakRow(fields: string[], kind: BadKind, rnd: Random): void {
  switch (kind) {
    case 'blank_region':
      fields[0] = rnd.next() < 0.5 ? '' : '  ';
      break;
    case 'blank_datasource':
      fields[4] = '';
      break;
    case 'bad_wkt':
      fields[1] = rnd.next() < 0.5 ? fields[1].replace('POINT', 'PONT') : fields[1].replace(/\)$/, '');
      break;
    case 'out_of_range':
      fields[2] = `POINT (${190 + rnd.next() * 10} ${95 + rnd.next()})`;
      break;
    case 'bad_datetime':
      fields[3] = rnd.next() < 0.5 ? fields[3].replace(/^(\d{4})-\d{2}/, '$1-13') : 'yesterday';
      break;
    case 'column_count':
      if (rnd.next() < 0.5) fields.push('extra');
      else fields.pop();
      break;
  }
}
