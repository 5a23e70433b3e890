import { UsageError } from '@trips/core';
import { knownDatasource, knownRegion, largestGroups, latestDatasource, q, regionsOfDatasource, weeklyAverage, type Box, type BoxMatch, type WeeklyRequest } from '@trips/warehouse';
import { defineCommand, type Flags } from './args';
import { withLocalWarehouse } from './local-warehouse';
import { formatRows, outputFormat } from './report';

const FLAGS: Flags = {
  region: { type: 'string', value: 'NAME', description: 'weekly-average, groups: a region name (case-insensitive)' },
  bbox: { type: 'string', value: 'MIN_LON,MIN_LAT,MAX_LON,MAX_LAT', description: 'weekly-average: MIN_LON,MIN_LAT,MAX_LON,MAX_LAT' },
  match: { type: 'string', value: 'SIDE', description: 'weekly-average --bbox: origin (default), destination or both must lie in the box' },
  method: {
    type: 'string',
    value: 'METHOD',
    description: 'weekly-average --bbox: auto (default: the cheaper, by the trips along the box\'s edge), aggregates, or scan (read every trip of the period); the answer is the same',
  },
  from: { type: 'string', value: 'YYYY-MM-DD', description: 'weekly-average: first day YYYY-MM-DD (its ISO week is the first week; default: first week with data)' },
  to: { type: 'string', value: 'YYYY-MM-DD', description: 'weekly-average: last day YYYY-MM-DD (its ISO week is the last week; default: last week with data)' },
  top: { type: 'string', value: 'N', description: 'groups: how many groups (default 10)' },
  'top-regions': { type: 'string', value: 'N', description: 'latest-datasource: how many of the most common regions (default 2)' },
  datasource: { type: 'string', value: 'NAME', description: 'regions: the datasource name' },
  json: { type: 'boolean', description: 'print the answer as JSON on stdout (the same as --format json)' },
  format: { type: 'string', value: 'FORMAT', description: 'text (default: a table), json, or csv (the rows: a header, then one line per row)' },
};

const COMMAND = {
  name: 'trips query',
  description: `Answers the analysts' questions from the local warehouse (through the warehouse port, so the same SQL runs on Redshift):
  weekly-average (--region NAME | --bbox MIN_LON,MIN_LAT,MAX_LON,MAX_LAT [--match SIDE] [--method METHOD]) [--from D --to D]
      average trips per ISO week (Monday, UTC) over the whole weeks of the period; weeks without trips count as zero
  groups [--region NAME] [--top N]      the largest groups of similar trips (region, cells, hour bucket)
  latest-datasource [--top-regions N]   for each of the N most common regions, the datasource that appeared latest
  regions --datasource NAME             the regions where a datasource appeared`,
  options: FLAGS,
  positionals: '[question]',
};



/** `--bbox MIN_LON,MIN_LAT,MAX_LON,MAX_LAT` as a box (its corners are checked by the question). */
export function parseBox(text: string): Box {
  const parts = text.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length !== 4 || parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n))) throw new UsageError(`--bbox must be MIN_LON,MIN_LAT,MAX_LON,MAX_LAT (four numbers), got "${text}"`);
  const [minLon, minLat, maxLon, maxLat] = nums;
  return { minLon, minLat, maxLon, maxLat };
}

/** The weekly-average question the flags ask. */
function weeklyRequest(values: Record<string, unknown>): WeeklyRequest {
  const { region, bbox, match, from, to, method } = values as Record<string, string | undefined>;
  if ((region === undefined) === (bbox === undefined)) throw new UsageError('trips query weekly-average: give exactly one of --region NAME or --bbox MIN_LON,MIN_LAT,MAX_LON,MAX_LAT');
  if (match !== undefined && bbox === undefined) throw new UsageError('--match goes with --bbox');
  if (method !== undefined && bbox === undefined) throw new UsageError('--method goes with --bbox');
  const area = region !== undefined ? { region } : { box: parseBox(bbox as string), match: (match ?? 'origin') as BoxMatch };
  return { area, from, to, ...(method !== undefined ? { method: method as WeeklyRequest['method'] } : {}) };
}

/** Periods longer than this (two years) list only the weeks that have trips. */
const LIST_ALL_WEEKS = 104;

function positiveInt(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number >= 1, got "${v}"`);
  return n;
}

export const queryCommand = defineCommand(COMMAND, async ({ values, positionals }, help) => {
  if (positionals.length === 0) {
    process.stdout.write(help);
    return 64;
  }
  const [question, ...extra] = positionals;
  if (extra.length) throw new UsageError(`trips query: unexpected argument "${extra[0]}"`);
  const format = outputFormat(values);
  /** The answer: JSON of `json`; or its `rows` as CSV, or as a table followed by `summary`. */
  const out = (json: unknown, rows: Array<Record<string, unknown>>, summary = '') =>
    process.stdout.write(format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : format === 'csv' ? formatRows(rows, 'csv') : `${formatRows(rows, 'text')}${summary ? `${summary}\n` : ''}`);
  switch (question) {
    case 'weekly-average': {
      const request = weeklyRequest(values);
      return withLocalWarehouse(async (wh) => {
        const a = await weeklyAverage(wh, request);
        const note = a.totalTrips === 0 ? `\n${a.area} has no trips in this period` : '';
        const how = a.method === 'scan' ? ' (counted by reading every trip of the period: the box\'s edge crosses busy cells)' : '';
        // A long period (the warehouse may hold a stray far-off date) lists the weeks with trips only.
        const shown = a.weeks.length > LIST_ALL_WEEKS ? a.weeks.filter((w) => w.trips > 0) : a.weeks;
        const hidden = a.weeks.length - shown.length;
        const notListed = hidden > 0 ? `(${hidden} weeks without trips not listed)\n` : '';
        out(a, format === 'csv' ? a.weeks : shown, `${notListed}${a.area}: ${a.weeklyAverage.toFixed(2)} trips per week on average over ${a.weeks.length} week(s) from ${a.fromWeek} to ${a.toWeek} (${a.totalTrips} trips)${how}${note}`);
        return 0;
      });
    }
    case 'groups':
      return withLocalWarehouse(async (wh) => {
        let regionKey: string | undefined;
        if (typeof values.region === 'string') {
          const found = await q<{ region_key: string }>(wh, knownRegion(values.region));
          if (!found.length) throw new UsageError(`unknown region "${values.region}"`);
          regionKey = found[0].region_key;
        }
        const rows = await q<Record<string, unknown>>(wh, largestGroups(positiveInt(values.top, 'top', 10), regionKey));
        out(rows, rows);
        return 0;
      });
    case 'latest-datasource':
      return withLocalWarehouse(async (wh) => {
        const rows = await q<Record<string, unknown>>(wh, latestDatasource(positiveInt(values['top-regions'], 'top-regions', 2)));
        out(rows, rows);
        return 0;
      });
    case 'regions':
      if (typeof values.datasource !== 'string') throw new UsageError('trips query regions: --datasource NAME is required');
      return withLocalWarehouse(async (wh) => {
        const found = await q<{ datasource_key: string }>(wh, knownDatasource(values.datasource as string));
        if (!found.length) throw new UsageError(`unknown datasource "${values.datasource}"`);
        const rows = await q<Record<string, unknown>>(wh, regionsOfDatasource(found[0].datasource_key));
        out(rows, rows);
        return 0;
      });
    default:
      throw new UsageError(`trips query: unknown question "${question}" (weekly-average, groups, latest-datasource, regions)`);
  }
});
