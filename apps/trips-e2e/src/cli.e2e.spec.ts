import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE, trips, tripsJson } from './trips';

/** What an analyst sees of `trips sql` and `trips query`: values, formats, errors. */
describe('the command line on a loaded warehouse', () => {
  let work: string;
  let state: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trips-cli-'));
    state = join(work, 'state');
    const run = await trips(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    if (run.code !== 0) throw new Error(`trips run exited ${run.code}:\n${run.stderr}`);
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const TYPED = `select d.ds, timestamp '2018-05-28 23:30:00' as ts, timestamptz '2018-05-28 23:30:00+00' as tstz,
    '{"a": [1, 2]}'::jsonb as doc, null::text as nothing, (select count(*) from trips.fact_trips) as facts, 1.50::numeric as price
    from (select max(ds) as ds from trips.fact_trips) d`;

  it('prints dates as dates, timestamps in UTC, JSON as JSON, NULL visibly and counts as numbers, whatever the time zone', async () => {
    const tokyo = { TZ: 'Asia/Tokyo' };
    const json = await trips(['sql', TYPED, '--json'], state, tokyo);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { ds: '2018-05-28', ts: '2018-05-28 23:30:00', tstz: '2018-05-28T23:30:00.000Z', doc: { a: [1, 2] }, nothing: null, facts: 1968, price: 1.5 },
    ]);
    const text = await trips(['sql', TYPED], state, tokyo);
    expect(text.code).toBe(0);
    const [header, row, count] = text.stdout.trimEnd().split('\n');
    expect(header.trim().split(/\s+/)).toEqual(['ds', 'ts', 'tstz', 'doc', 'nothing', 'facts', 'price']);
    expect(row).toContain('2018-05-28  2018-05-28 23:30:00  2018-05-28T23:30:00.000Z  {"a":[1,2]}');
    expect(row).toMatch(/NULL\s+1968\s+1\.5$/);
    expect(count).toBe('(1 row)');
    const csv = await trips(['sql', TYPED, '--format', 'csv'], state, tokyo);
    expect(csv.stdout).toBe('ds,ts,tstz,doc,nothing,facts,price\n2018-05-28,2018-05-28 23:30:00,2018-05-28T23:30:00.000Z,"{""a"":[1,2]}",,1968,1.5\n');
  });

  it('aligns text left and numbers right in one table style', async () => {
    const r = await trips(['sql', 'select count(*) as trips, r.name as region_name, min(f.ds) as first_ds from trips.fact_trips f join trips.dim_region r using (region_key) group by 2 order by 1 desc'], state);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.pop()).toMatch(/^\(\d+ rows\)$/);
    expect(lines.length).toBeGreaterThan(2);
    const nameAt = lines[0].indexOf('region_name');
    const countEnd = lines[0].indexOf('trips') + 'trips'.length;
    for (const l of lines.slice(1)) {
      expect(l.slice(0, countEnd)).toMatch(/^ *\d+$/); // the count ends at its column's right edge
      expect(l.slice(nameAt)).toMatch(/^[A-Z][a-z]+ +2018-05-28$/); // the name starts at its column's left edge
    }
  });

  it('gives a refused statement exit 3 with PostgreSQL\'s message and a caret, and runs no part of a text of two statements', async () => {
    const bad = await trips(['sql', 'select trip_id,\n  nonsense_column from trips.fact_trips'], state);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('ERROR: column "nonsense_column" does not exist');
    expect(bad.stderr).toContain('LINE 2:   nonsense_column from trips.fact_trips\n          ^');
    expect(bad.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    const two = await trips(['sql', 'delete from trips.fact_trips; select 2'], state);
    expect(two.code).toBe(3);
    expect(two.stderr).toContain('one statement at a time: this text holds 2');
    expect(two.stderr).not.toContain('TypeError');
    expect(await tripsJson(['sql', 'select count(*) as n from trips.fact_trips'], state)).toEqual([{ n: 1968 }]);
  });

  it('answers a question as CSV, as JSON with numbers, and as a table', async () => {
    const csv = await trips(['query', 'weekly-average', '--region', 'Prague', '--format', 'csv'], state);
    expect(csv.code).toBe(0);
    const [header, ...weeks] = csv.stdout.trimEnd().split('\n');
    expect(header).toBe('week_start_date,trips');
    expect(weeks.length).toBeGreaterThan(0);
    for (const w of weeks) expect(w).toMatch(/^\d{4}-\d\d-\d\d,\d+$/);
    const json = await tripsJson<{ totalTrips: number; weeks: Array<{ trips: number }> }>(['query', 'weekly-average', '--region', 'Prague'], state);
    expect(typeof json.totalTrips).toBe('number');
    expect(Number(weeks[0].split(',')[1])).toBe(json.weeks[0].trips);
    const bad = await trips(['query', 'groups', '--format', 'xml'], state);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--format must be text, json or csv, got "xml"');
  });

  it('checks every day of a --from/--to range has its input before running any', async () => {
    const inputs = join(work, 'range');
    await mkdir(inputs, { recursive: true });
    await copyFile(SAMPLE, join(inputs, 'trips-2018-06-01.csv'));
    const other = join(work, 'range-state');
    const r = await trips(['run', '--input', inputs, '--from', '2018-06-01', '--to', '2018-06-02'], other);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('no file name contains 2018-06-02');
    expect(r.stderr).not.toContain('starting the local stack'); // nothing ran, nothing landed
  });
});
