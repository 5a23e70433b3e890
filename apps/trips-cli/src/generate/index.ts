import { UsageError, parseDs } from '@trips/core';
import { defineCommand, type Flags } from '../args';
import { writeTrips } from './write';

export { generateRows, CITIES, BAD_KINDS, HEADER, type GenerateOptions, type GeneratedRow } from './trips';
export { writeTrips, type Summary } from './write';

const FLAGS: Flags = {
  out: { type: 'string', value: 'PATH', description: 'file to write (with --by-day: a folder)' },
  rows: { type: 'string', value: 'N', description: 'number of rows (default 10000)' },
  seed: { type: 'string', value: 'N', description: 'PRNG seed; the same seed gives the same bytes (default 1)' },
  start: { type: 'string', value: 'YYYY-MM-DD', description: 'first day of the trips, YYYY-MM-DD (default 2018-05-28)' },
  days: { type: 'string', value: 'N', description: 'days the trips spread over (default 14)' },
  'bad-ratio': { type: 'string', value: 'RATIO', description: 'share of rows that break a validation rule (default 0)' },
  'duplicate-ratio': { type: 'string', value: 'RATIO', description: 'share of rows that repeat an earlier row exactly (default 0)' },
  'by-day': { type: 'boolean', description: 'one file per trip day, trips_YYYY-MM-DD.csv' },
  gzip: { type: 'boolean', description: 'gzip-compress the files (with --by-day named .csv.gz), as SFTP deliveries often are' },
  json: { type: 'boolean', description: 'print the summary as JSON on stdout' },
};

const COMMAND = {
  name: 'trips generate',
  description: 'Writes synthetic trips in the input format (--out PATH): realistic regions, datasources,\ncoordinates around each city and timestamps over weeks, with chosen shares of bad rows and duplicates.',
  options: FLAGS,
};

function num(values: Record<string, unknown>, name: string, fallback: number, check: (n: number) => boolean, what: string): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what}, got "${raw}"`);
  return n;
}

/** `trips generate`: returns the process exit code. */
export const generateCommand = defineCommand(COMMAND, async ({ values }) => {
  if (typeof values.out !== 'string') throw new UsageError('trips generate: --out PATH is required');
  const ratio = (n: number) => n >= 0 && n <= 1;
  const opts = {
    rows: num(values, 'rows', 10_000, (n) => Number.isInteger(n) && n >= 0, 'a whole number >= 0'),
    seed: num(values, 'seed', 1, Number.isInteger, 'a whole number'),
    start: parseDs(typeof values.start === 'string' ? values.start : '2018-05-28', '--start'),
    days: num(values, 'days', 14, (n) => Number.isInteger(n) && n >= 1, 'a whole number >= 1'),
    badRatio: num(values, 'bad-ratio', 0, ratio, 'a number in [0, 1]'),
    duplicateRatio: num(values, 'duplicate-ratio', 0, ratio, 'a number in [0, 1]'),
  };
  const summary = await writeTrips(values.out, opts, { byDay: values['by-day'] === true, gzip: values.gzip === true }, (n) => process.stderr.write(`trips generate: ${n.toLocaleString('en-US')} rows\n`));
  if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stderr.write(`trips generate: wrote ${summary.rows} rows (${summary.badRows} bad, ${summary.duplicates} duplicates) to ${summary.files.length} file(s) under ${values.out}\n`);
  return 0;
});
