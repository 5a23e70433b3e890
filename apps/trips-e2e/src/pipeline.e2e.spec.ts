import { mkdtemp, rm, writeFile, readFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BUNDLE, ROOT, runBundle, SAMPLE, trips, tripsJson, type RunJson } from './trips';

const TABLES = ['fact_trips', 'dim_region', 'dim_datasource', 'dim_date', 'dim_time_of_day', 'dim_trip_group'];

function expectAccountingCloses(run: RunJson): void {
  // Across tasks: what validate-raw passed of each file is what clean-stage read of it.
  const validate = run.tasks.find((t) => t.task === 'validate_raw');
  const clean = run.tasks.find((t) => t.task === 'clean_stage');
  if (validate && clean) {
    const passed = Object.fromEntries(validate.files.filter((f) => f.status === 'ok').map((f) => [f.file, f.rows.passed]));
    expect(Object.fromEntries(clean.files.map((f) => [f.file, f.rows.read]))).toEqual(passed);
  }
  for (const t of run.tasks) {
    const r = t.rows;
    expect({ task: t.task, read: r.read }).toEqual({ task: t.task, read: r.passed + r.rejected + r.duplicates });
    expect(Object.values(t.rejectedByReason).reduce((a, b) => a + b, 0)).toBe(r.rejected);
    for (const f of t.files) {
      expect({ task: t.task, file: f.file, read: f.rows.read }).toEqual({ task: t.task, file: f.file, read: f.rows.passed + f.rows.rejected + f.rows.duplicates });
    }
  }
}

/** Row counts a rerun must repeat: every task's, and the facts loaded (dimension members are found present on a rerun). */
const repeatable = (run: RunJson) =>
  run.tasks.map((t) => (t.task === 'load_redshift' ? t.files.find((f) => f.file.endsWith('fact_trips'))?.rows.passed : t.rows));

const task = (run: RunJson, id: string) => {
  const t = run.tasks.find((x) => x.task === id);
  if (!t) throw new Error(`no task ${id} in run`);
  return t;
};

async function count(stateDir: string, sql: string): Promise<number> {
  const rows = await tripsJson<Array<{ n: string | number }>>(['sql', sql], stateDir);
  return Number(rows[0].n);
}

/** A fingerprint of every warehouse table's full contents. */
async function warehouseSnapshot(stateDir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const rows = await tripsJson<Array<{ n: string; h: string }>>(['sql', `select count(*) as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from trips.${t} x`], stateDir);
    out[t] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}

describe('trips run on the embedded stack', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trips-e2e-'));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('runs the whole chain from an SFTP server with --from-sftp, landing the same warehouse as --input', async () => {
    const viaSftp = join(work, 'from-sftp');
    const run = await tripsJson<RunJson>(['run', '--from-sftp', '--ds', '2018-05-28'], viaSftp);
    expect(run.tasks.map((t) => [t.task, t.status])).toEqual([
      ['ingest_sftp', 'succeeded'],
      ['validate_raw', 'succeeded'],
      ['clean_stage', 'succeeded'],
      ['build_dimensions', 'succeeded'],
      ['build_facts', 'succeeded'],
      ['load_redshift', 'succeeded'],
    ]);
    expectAccountingCloses({ ...run, tasks: run.tasks.slice(1) });
    const direct = join(work, 'direct');
    await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], direct);
    expect(await warehouseSnapshot(viaSftp)).toEqual(await warehouseSnapshot(direct));
  });

  it('runs the sample through every task, closes the accounting and loads the warehouse; a second run changes nothing', async () => {
    const state = join(work, 'sample');
    const run = await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    expect(run.status).toBe('succeeded');
    expect(run.tasks.map((t) => [t.task, t.status])).toEqual([
      ['validate_raw', 'succeeded'],
      ['clean_stage', 'succeeded'],
      ['build_dimensions', 'succeeded'],
      ['build_facts', 'succeeded'],
      ['load_redshift', 'succeeded'],
    ]);
    expectAccountingCloses(run);
    const validate = task(run, 'validate_raw');
    const clean = task(run, 'clean_stage');
    expect(validate.rows.read).toBeGreaterThan(1000);
    expect(validate.rows.rejected).toBeGreaterThan(0);
    expect(clean.rows.read).toBe(validate.rows.passed);
    expect(clean.rows.duplicates).toBeGreaterThan(0);
    expect(task(run, 'build_facts').rows.passed).toBe(clean.rows.passed);
    expect(await count(state, 'select count(*) as n from trips.fact_trips')).toBe(clean.rows.passed);
    expect(await count(state, "select count(*) as n from trips.dim_region where name in ('Prague', 'Turin', 'Hamburg')")).toBe(3);
    expect(await count(state, 'select count(*) as n from trips.fact_trips f left join trips.dim_region r using (region_key) where r.region_key is null')).toBe(0);

    const before = await warehouseSnapshot(state);
    const again = await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    expect(repeatable(again)).toEqual(repeatable(run));
    expect(await warehouseSnapshot(state)).toEqual(before);
  });

  it('matches the generator\'s own count of bad rows and duplicates, and the bundles (the tasks\' and the CLI\'s) give the same result as the sources', async () => {
    const state = join(work, 'generated');
    const input = join(work, 'generated.csv');
    const summary = await tripsJson<{ rows: number; goodRows: number; badRows: number; duplicates: number }>(
      ['generate', '--out', input, '--rows', '20000', '--seed', '7', '--bad-ratio', '0.02', '--duplicate-ratio', '0.03'],
      state,
    );
    const run = await tripsJson<RunJson>(['run', '--input', input, '--ds', '2018-06-04'], state);
    expectAccountingCloses(run);
    expect(task(run, 'validate_raw').rows.read).toBe(summary.rows);
    expect(task(run, 'validate_raw').rows.rejected).toBe(summary.badRows);
    expect(task(run, 'clean_stage').rows.duplicates).toBe(summary.duplicates);
    expect(await count(state, 'select count(*) as n from trips.fact_trips')).toBe(summary.rows - summary.badRows - summary.duplicates);

    const before = await warehouseSnapshot(state);
    // `trips run` itself from the CLI's bundle too, as the scale benchmark runs it with --bundled.
    const bundled = await tripsJson<RunJson>(['run', '--input', input, '--ds', '2018-06-04', '--bundled'], state, ROOT, CLI_BUNDLE);
    expect(repeatable(bundled)).toEqual(repeatable(run));
    expect(await warehouseSnapshot(state)).toEqual(before);
  });

  it('keeps a trip delivered on two days once in the warehouse, whatever order the days are loaded in', async () => {
    const lines = (await readFile(SAMPLE, 'utf8')).trimEnd().split('\n');
    const [header, ...body] = lines;
    const dir = join(work, 'days');
    await mkdir(dir, { recursive: true });
    // Day two repeats the last 300 rows of day one and adds its own.
    const day1 = body.slice(0, 1000);
    const day2 = [...body.slice(700, 1000), ...body.slice(1000, 1600)];
    await writeFile(join(dir, 'trips_2018-06-01.csv'), `${[header, ...day1].join('\n')}\n`);
    await writeFile(join(dir, 'trips_2018-06-02.csv'), `${[header, ...day2].join('\n')}\n`);

    const inOrder = join(work, 'in-order');
    const runs = await tripsJson<RunJson[]>(['run', '--input', dir, '--from', '2018-06-01', '--to', '2018-06-02'], inOrder);
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    const cleanTotal = runs.reduce((s, r) => s + task(r, 'clean_stage').rows.passed, 0);
    const facts = await count(inOrder, 'select count(*) as n from trips.fact_trips');
    const unique = await count(inOrder, 'select count(distinct trip_id) as n from trips.fact_trips');
    expect(facts).toBe(unique);
    expect(facts).toBeLessThan(cleanTotal);
    const factLoad = task(runs[1], 'load_redshift').files.find((f) => f.file.includes('fact_trips'));
    expect(factLoad?.rows.duplicates).toBe(cleanTotal - facts);

    const reversed = join(work, 'reversed');
    await tripsJson<RunJson>(['run', '--input', join(dir, 'trips_2018-06-02.csv'), '--ds', '2018-06-02'], reversed);
    await tripsJson<RunJson>(['run', '--input', join(dir, 'trips_2018-06-01.csv'), '--ds', '2018-06-01'], reversed);
    expect(await count(reversed, 'select count(*) as n from trips.fact_trips')).toBe(facts);
    expect(await count(reversed, 'select count(distinct trip_id) as n from trips.fact_trips')).toBe(facts);
  });

  it('with --store files lands the same lake and warehouse as through the S3 server, and the S3 server reads that lake', async () => {
    const files = join(work, 'file-store');
    const run = await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28', '--store', 'files'], files);
    expect(run.status).toBe('succeeded');
    expectAccountingCloses(run);
    const viaS3 = join(work, 'through-s3');
    const reference = await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], viaS3);
    expect(run.tasks.map((t) => t.rows)).toEqual(reference.tasks.map((t) => t.rows));
    expect(await warehouseSnapshot(files)).toEqual(await warehouseSnapshot(viaS3));
    // The same lake, object for object (a part file's name ends in a fresh id; the warehouse above is the same data).
    const lake = async (state: string) => (await tripsJson<Array<{ key: string }>>(['s3', 'ls', 's3://trips-lake/'], state)).map((o) => o.key.replace(/-[0-9a-f]{8}\.parquet$/, '-*.parquet'));
    expect(await lake(files)).toEqual(await lake(viaS3));
    // The state moves to the S3 server as it is: a rerun through it reads what the file store wrote and changes nothing.
    const before = await warehouseSnapshot(files);
    const again = await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], files);
    expect(repeatable(again)).toEqual(repeatable(run));
    expect(await warehouseSnapshot(files)).toEqual(before);
    // The day's lock through the file store, between task processes of two runs: run A's first task
    // hands the lock on to A's next task, so a task of run B is refused (75) and A's goes on.
    const env = { TRIPS_OBJECT_DIR: join(files, 's3'), TRIPS_WORK_DIR: join(files, 'work'), AWS_ENDPOINT_URL_S3: undefined };
    const app = (name: string, runId: string) => runBundle(name, ['--ds', '2018-05-28', '--run-id', runId], env);
    expect(app('validate-raw', 'run-a').status).toBe(0);
    const refused = app('clean-stage', 'run-b');
    expect(refused.status).toBe(75);
    expect(refused.stderr).toContain('ds=2018-05-28 is locked by run run-a');
    expect(app('clean-stage', 'run-a').status).toBe(0);
    const bad = await trips(['run', '--ds', '2018-05-28', '--store', 'ftp'], files);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--store must be s3 or files, got "ftp"');
  });

  it('stops at the validation gate, still printing the run as JSON, and exits non-zero', async () => {
    const state = join(work, 'gate');
    const r = await trips(['run', '--input', SAMPLE, '--ds', '2018-05-28', '--max-reject-ratio', '0', '--json'], state);
    expect(r.code).not.toBe(0);
    const run = JSON.parse(r.stdout) as RunJson;
    expect(run.status).toBe('failed');
    expect(run.tasks.map((t) => t.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(task(run, 'validate_raw').rows.rejected).toBeGreaterThan(0);
  });

  it('refuses a malformed --ds and an unknown option with a message naming them', async () => {
    const state = join(work, 'args');
    const bad = await trips(['run', '--ds', '2018-02-30'], state);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--ds must be a calendar date YYYY-MM-DD, got "2018-02-30"');
    const unknown = await trips(['run', '--ds', '2018-02-03', '--frobnicate'], state);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('--frobnicate');
    const ratio = await trips(['run', '--ds', '2018-02-03', '--max-reject-ratio', 'lots'], state);
    expect(ratio.code).toBe(64);
    expect(ratio.stderr).toContain('--max-reject-ratio');
  });
});
