import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The committed 2,000-row sample (fixtures/sample/README.md). */
export const SAMPLE_CSV = join(__dirname, '..', 'fixtures', 'sample', 'trips-sample.csv');

const POINT = /^POINT \(-?\d+(\.\d+)? -?\d+(\.\d+)?\)$/;
const TS = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;

/**
 * The sample's rows as validate-raw passes them (source file and line, then the fields as text),
 * its malformed rows left out by simple checks: for validatedParquet, in tests of the later tasks
 * that must not depend on the validate-raw app.
 */
export function validatedSampleRows(sourceFile = 'trips/ingest_date=2018-05-28/trips-sample.csv'): string[][] {
  const lines = readFileSync(SAMPLE_CSV, 'utf8').split('\n');
  const out: string[][] = [];
  lines.slice(1).forEach((line, i) => {
    const f = line.split(',');
    if (f.length !== 5 || !f[0].trim() || !f[4].trim() || !POINT.test(f[1]) || !POINT.test(f[2]) || !TS.test(f[3])) return;
    out.push([sourceFile, String(i + 2), ...f]);
  });
  return out;
}

/**
 * Rows a later reader would fail on, or would take for other names, each made from a good row by
 * `row(region, n)` (its origin `POINT (14.4 50.0)`, its day 2018-06-26): a control character and an
 * over-long name (rejected), an over-long coordinate (rejected), a quoted line break in a name
 * (rejected as a control character), Unicode spaces in a point and a byte-order mark and no-break
 * space around a name (kept, in canonical form), a year 9999 (rejected as out of range).
 */
export function hardRows(row: (region: string, n: number) => string): string[] {
  return [
    row('Pra\u0000gue', 1),
    row('P'.repeat(300), 2),
    row('Prague', 3).replace('POINT (14.4 50.0)', `POINT (14.${'4'.repeat(2_100_000)} 50.0)`),
    row('"Prague\nOld Town"', 4),
    row('Prague', 5).replace('POINT (14.4 50.0)', 'POINT\u00a0(14.4\u00a050.0)'),
    row('\ufeffPrague\u00a0', 6),
    row('Prague', 7).replace('2018-06-26', '9999-12-31'),
  ];
}
