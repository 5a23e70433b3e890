import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findChromium, inked, screenshot } from './browser';
import { alive, SAMPLE, trips, tripsJson } from './trips';


/** What an analyst sees of `trips sql` and `trips query`: values, formats, errors. */
describe('the command line on a loaded warehouse', () => {
  let work: string;
  let state: string;
  let runOutput: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trips-cli-'));
    state = join(work, 'state');
    const run = await trips(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    if (run.code !== 0) throw new Error(`trips run exited ${run.code}:\n${run.stderr}`);
    runOutput = run.stdout + run.stderr;
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('ends a run with the rows of each warehouse table, the facts counted as the table holds them', async () => {
    const counts = JSON.parse((await trips(['sql', 'select (select count(*) from trips.fact_trips) as facts, (select count(*) from trips.dim_trip_group) as groups', '--json'], state)).stdout)[0];
    expect(counts.facts).toBe(1968);
    const line = runOutput.split('\n').find((l) => l.includes('warehouse rows'));
    expect(line).toContain(`fact_trips ${counts.facts.toLocaleString('en-US')}`);
    expect(line).toContain(`dim_trip_group ${counts.groups.toLocaleString('en-US')}`);
  });

  const TYPED = `select d.ds, timestamp '2018-05-28 23:30:00' as ts, timestamptz '2018-05-28 23:30:00+00' as tstz,
    '{"a": [1, 2]}'::jsonb as doc, null::text as nothing, (select count(*) from trips.fact_trips) as facts, 1.50::numeric as price
    from (select max(ds) as ds from trips.fact_trips) d`;

  it('starts without loading what only some commands use: DuckDB, ssh2 and the Redshift Data SDK', async () => {
    // Every command imports every command's module: the heavy packages load when a command uses them.
    const hook = join(work, 'loaded-modules.cjs');
    const loadedFile = join(work, 'loaded-modules.json');
    await writeFile(hook, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(loadedFile)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const r = await trips(['status'], state, { NODE_OPTIONS: `--require ${hook}` });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const loaded = JSON.parse(await readFile(loadedFile, 'utf8')) as string[];
    expect(loaded.filter((m) => /apps\/trips-cli\/src\/(run|query|inspect)-commands?\.ts$/.test(m))).toHaveLength(3);
    expect(loaded.some((m) => m.includes('/node_modules/pg/'))).toBe(true);
    expect(loaded.filter((m) => /\/node_modules\/(@duckdb\/node-api|ssh2|@aws-sdk\/client-redshift-data)\//.test(m))).toEqual([]);
  });

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
    // A box by either method, or as auto chooses: the same weeks, and the answer says how.
    const box = ['query', 'weekly-average', '--bbox', '14.4,50.04,14.48,50.1', '--match', 'both'];
    const byMethod = [];
    for (const m of ['aggregates', 'scan']) byMethod.push(await tripsJson<{ method: string; weeks: unknown[] }>([...box, '--method', m], state));
    expect(byMethod.map((a) => a.method)).toEqual(['aggregates', 'scan']);
    expect(byMethod[1].weeks).toEqual(byMethod[0].weeks);
    expect((await tripsJson<{ weeks: unknown[] }>(box, state)).weeks).toEqual(byMethod[0].weeks);
    const text = await trips([...box, '--method', 'scan'], state);
    expect(text.stdout).toContain('(counted by reading every trip of the period');
    const wrong = await trips([...box, '--method', 'fast'], state);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toContain('method must be auto, aggregates or scan, got "fast"');
    expect((await trips(['query', 'weekly-average', '--region', 'Prague', '--method', 'scan'], state)).stderr).toContain('--method goes with --bbox');
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
  it('shows a day\'s manifests, its rejected rows by reason and with file and line, and the lake\'s objects, with no stand-in running', async () => {
    const manifests = await tripsJson<Array<{ task: string; status: string; rows: { read: number; rejected: number }; rejectedByReason: Record<string, number> }>>(['manifests', '--ds', '2018-05-28'], state);
    expect(manifests.map((m) => [m.task, m.status])).toEqual([
      ['validate_raw', 'succeeded'],
      ['clean_stage', 'succeeded'],
      ['build_dimensions', 'succeeded'],
      ['build_facts', 'succeeded'],
      ['load_redshift', 'succeeded'],
    ]);
    const validate = manifests[0];
    const byReason = await tripsJson<{ rejected: number; byReason: Array<{ reason: string; rows: number }> }>(['rejects', '--ds', '2018-05-28'], state);
    expect(byReason.rejected).toBe(validate.rows.rejected);
    expect(Object.fromEntries(byReason.byReason.map((r) => [r.reason, r.rows]))).toEqual(validate.rejectedByReason);
    const rows = await tripsJson<{ rows: Array<{ source_file: string; line: number; reason: string; detail: string }> }>(['rejects', '--ds', '2018-05-28', '--reason', 'bad_datetime'], state);
    expect(rows.rows).toHaveLength(validate.rejectedByReason.bad_datetime);
    const sample = (await readFile(SAMPLE, 'utf8')).split('\n');
    for (const r of rows.rows) {
      expect(r.source_file).toBe('trips/ingest_date=2018-05-28/trips-sample.csv');
      expect(r.reason).toBe('bad_datetime');
      // The line named is the line of the file that broke the rule.
      expect(r.detail).toContain(sample[r.line - 1].split(',')[3]);
    }
    const text = await trips(['rejects', '--ds', '2018-05-28', '--rows', '--limit', '3'], state);
    expect(text.stdout.trimEnd().split('\n')).toHaveLength(1 + 3 + 1);
    expect(text.stderr).toContain('the first 3 rows shown');
    const missing = await trips(['rejects', '--ds', '2018-05-29'], state);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain('nothing validated for ds=2018-05-29');

    const ls = await trips(['s3', 'ls', 's3://trips-lake/manifests/validate_raw/'], state);
    expect(ls.stdout).toContain('manifests/validate_raw/ds=2018-05-28/manifest.json');
    const cat = await trips(['s3', 'cat', 's3://trips-lake/manifests/validate_raw/ds=2018-05-28/manifest.json'], state);
    expect(JSON.parse(cat.stdout)).toEqual(JSON.parse((await trips(['manifests', '--ds', '2018-05-28', '--task', 'validate_raw'], state)).stdout));
    const nope = await trips(['s3', 'cat', 's3://trips-lake/manifests/nope.json'], state);
    expect(nope.code).toBe(64);
    expect(nope.stderr).toContain('no object s3://trips-lake/manifests/nope.json');
  });

  it('keeps the PostgreSQL a query started for the next query, and stops it once idle', async () => {
    // Kept 10 s here (the keeper takes the time of the query that starts it): long enough for the
    // commands between two queries on a loaded machine, short enough to watch it stop.
    await trips(['sql', 'select 1'], state, { TRIPS_QUERY_KEEP_SECONDS: '10' });
    const first = await tripsJson<{ keptPostgres: { pid: number } | null; days: Array<{ ds: string; facts_loaded: number }> }>(['status'], state);
    expect(first.days).toEqual([expect.objectContaining({ ds: '2018-05-28', facts_loaded: 1968 })]);
    const pid = first.keptPostgres?.pid as number;
    expect(alive(pid)).toBe(true);
    expect(await tripsJson(['sql', 'select count(*) as n from trips.dim_region'], state)).toEqual([{ n: expect.any(Number) }]);
    expect((await tripsJson<{ keptPostgres: { pid: number } }>(['status'], state)).keptPostgres.pid).toBe(pid); // reused, not restarted
    const deadline = Date.now() + 40_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(alive(pid)).toBe(false);
    expect((await tripsJson<{ keptPostgres: unknown }>(['status'], state)).keptPostgres).toBeNull();
  });

  const psqlThere = spawnSync('psql', ['--version']).status === 0;
  (psqlThere ? it : it.skip)('opens psql on the local warehouse with the trips schema on the search path', async () => {
    const r = await trips(['psql', '--', '-At', '-c', 'select count(*) from fact_trips'], state);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('1968');
  });

  const chromium = findChromium();
  if (!chromium) process.stderr.write('trips-e2e: no Chromium (Debian package chromium, or CHROMIUM=/path): the report is not looked at in a browser\n');
  it('writes a report page a browser renders: charts drawn, no console error', async () => {
    const out = join(work, 'report', 'index.html');
    const r = await trips(['report', '--out', out], state);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('5 regions, 200 trip groups, 1 day(s)');
    const html = await readFile(out, 'utf8');
    const regions = await tripsJson<Array<{ name: string }>>(['sql', 'select name from trips.dim_region order by name'], state);
    for (const { name } of regions) expect(html).toContain(`<b>${name}</b>`);
    for (const section of ['weekly', 'groups', 'rejects', 'tasks']) expect(html).toContain(`<section id="${section}">`);
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // self-contained
    if (!chromium) return;
    const shot = await screenshot(chromium, pathToFileURL(out).href);
    expect(shot.console).toEqual([]);
    const ink = inked(shot.png);
    expect(ink.share).toBeGreaterThan(0.05);
    expect(ink.colours).toBeGreaterThan(50);
    // The checks can fail: a page with a broken chart and a script error is caught by both.
    const bad = join(work, 'report', 'bad.html');
    await writeFile(bad, '<!doctype html><body><svg><rect width="NaN" height="-1"/></svg><script>nope()</script></body>');
    const badShot = await screenshot(chromium, pathToFileURL(bad).href, '400,300');
    expect(badShot.console.join('\n')).toMatch(/attribute width[\s\S]*Uncaught ReferenceError: nope/);
    expect(inked(badShot.png).share).toBeLessThan(0.01);
  });

  it('reports a day validation stopped: its rejects and task times, with no warehouse yet', async () => {
    const stopped = join(work, 'stopped');
    const run = await trips(['run', '--input', SAMPLE, '--ds', '2018-05-28', '--max-reject-ratio', '0'], stopped);
    expect(run.code).not.toBe(0);
    const out = join(work, 'stopped-report.html');
    const r = await trips(['report', '--out', out], stopped);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the warehouse has no tables yet');
    const html = await readFile(out, 'utf8');
    expect(html).toContain('No trips in the warehouse yet.');
    expect(html).toContain('16 of 2,000 rows (0.80%)');
    expect(html).toContain('failed: validate_raw');
  });

  it('resets the state only when told --yes', async () => {
    const asked = await trips(['reset'], state);
    expect(asked.code).toBe(64);
    expect(asked.stderr).toContain('Give --yes to do it');
    expect(existsSync(state)).toBe(true);
    const done = await trips(['reset', '--yes'], state);
    expect(done.code).toBe(0);
    expect(existsSync(state)).toBe(false);
    const after = await trips(['manifests'], state);
    expect(after.code).toBe(64);
    expect(after.stderr).toContain('no local lake under');
  });
});
