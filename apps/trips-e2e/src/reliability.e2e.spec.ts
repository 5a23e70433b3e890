import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hardRows } from '@trips/testing';
import { alive, ROOT, runBundle, SAMPLE, trips, tripsJson, type RunJson } from './trips';

/**
 * Issue 10's classes, each through the `trips` command as a user runs it, on real stand-ins (S3
 * server, DuckDB, PostgreSQL): nothing lost, nothing mixed, under bad names, reruns, crashes and
 * concurrent runs.
 */
const HEADER = 'region,origin_coord,destination_coord,datetime,datasource';
const sampleRows = async () => (await readFile(SAMPLE, 'utf8')).trimEnd().split('\n').slice(1);
const csv = (rows: string[]) => `${[HEADER, ...rows].join('\n')}\n`;
const task = (run: RunJson, id: string) => run.tasks.find((t) => t.task === id) as RunJson['tasks'][number];

async function count(state: string, sql: string): Promise<number> {
  const [row] = await tripsJson<Array<{ n: string | number }>>(['sql', sql], state);
  return Number(row.n);
}

/** Starts `trips …` in the background; resolves `started` once stderr says the day's tasks began. */
function background(args: string[], state: string) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/trips.cjs'), ...args], { cwd: ROOT, env: { ...process.env, TRIPS_STATE_DIR: state }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  let onRunning: () => void;
  const started = new Promise<void>((r) => (onRunning = r));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (/trips: running ds=/.test(stderr)) onRunning();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((r) => child.on('close', (code, signal) => r({ code, signal, stdout, stderr })));
  return { child, started, done };
}

const stackRecord = (state: string) => JSON.parse(readFileSync(join(state, 'stack.json'), 'utf8')) as { s3: { pid: number }; pg: { pid: number } };

describe('nothing lost, nothing mixed (issue 10)', () => {
  let work: string;
  let generated: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'trips-reliability-'));
    generated = join(work, 'generated.csv');
    // Big enough that a task is still running when a stand-in is killed.
    await tripsJson(['generate', '--out', generated, '--rows', '300000', '--seed', '11'], join(work, 'gen'));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('processes every file of a batch whatever its name, and clean-stage reads, file by file, exactly what validate-raw passed', async () => {
    const rows = await sampleRows();
    const dir = join(work, 'names');
    await mkdir(dir);
    const names = ['a.csv', '_b.csv', '.c.csv', 'x.csv', 'x.CSV', `it's "q" & <x>.csv`];
    for (const [i, name] of names.entries()) await writeFile(join(dir, name), csv(rows.slice(i * 50, i * 50 + 50)));
    const state = join(work, 'names-state');
    const run = await tripsJson<RunJson>(['run', '--input', dir, '--ds', '2018-06-26'], state);
    const validate = task(run, 'validate_raw');
    const clean = task(run, 'clean_stage');
    expect(validate.files.map((f) => f.file.split('/').pop()).sort()).toEqual([...names].sort());
    expect(validate.rows.read).toBe(300);
    const passed = Object.fromEntries(validate.files.map((f) => [f.file, f.rows.passed]));
    const read = Object.fromEntries(clean.files.map((f) => [f.file, f.rows.read]));
    expect(read).toEqual(passed);
    expect(await count(state, 'select count(*) as n from trips.fact_trips')).toBe(clean.rows.passed);
  });

  it('keeps the trips another day delivers when a rerun drops them: the warehouse holds the distinct trips of each day\'s latest batch', async () => {
    const rows = (await sampleRows()).slice(0, 1000).filter((r) => r.split(',').length === 5);
    const dir = join(work, 'days');
    await mkdir(dir);
    const [t1to3, t4to5, t6] = [rows.slice(0, 300), rows.slice(300, 500), rows.slice(500, 600)];
    await writeFile(join(dir, 'a.csv'), csv([...t1to3, ...t4to5]));
    await writeFile(join(dir, 'b.csv'), csv([...t4to5, ...t6]));
    await writeFile(join(dir, 'a-rerun.csv'), csv(t1to3));
    const state = join(work, 'days-state');
    const a = await tripsJson<RunJson>(['run', '--input', join(dir, 'a.csv'), '--ds', '2018-06-01'], state);
    await tripsJson<RunJson>(['run', '--input', join(dir, 'b.csv'), '--ds', '2018-06-02'], state);
    const all = await count(state, 'select count(*) as n from trips.fact_trips');
    const rerun = await tripsJson<RunJson>(['run', '--input', join(dir, 'a-rerun.csv'), '--ds', '2018-06-01'], state);
    // Nothing of the union of both days' latest batches went missing.
    expect(await count(state, 'select count(*) as n from trips.fact_trips')).toBe(all);
    const cleanA = task(a, 'clean_stage').rows.passed;
    const cleanRerun = task(rerun, 'clean_stage').rows.passed;
    expect(await count(state, "select count(*) as n from trips.fact_trips where ds = '2018-06-01'")).toBe(cleanRerun);
    expect(await count(state, "select count(*) as n from trips.fact_trips where ds = '2018-06-02'")).toBe(all - cleanRerun);
    expect(cleanRerun).toBeLessThan(cleanA);
  });

  it.each([
    ['PostgreSQL', (s: ReturnType<typeof stackRecord>) => s.pg.pid, /the local PostgreSQL \(pid \d+\) stopped \(SIGKILL\) while validate_raw was running/],
    ['the S3 server', (s: ReturnType<typeof stackRecord>) => s.s3.pid, /the local S3 server \(pid \d+\) stopped \(SIGKILL\) while validate_raw was running/],
  ])('fails the run, naming the task, printing the JSON and exiting non-zero when %s dies mid-run', async (_name, pidOf, message) => {
    const state = join(work, `killed-${_name.replace(/\W/g, '')}`);
    const run = background(['run', '--input', generated, '--ds', '2018-06-26', '--json'], state);
    await run.started;
    process.kill(pidOf(stackRecord(state)), 'SIGKILL');
    const r = await run.done;
    expect(r.code).toBe(1);
    const json = JSON.parse(r.stdout) as RunJson;
    expect(json.status).toBe('failed');
    const failed = json.tasks.find((t) => t.status === 'failed') as RunJson['tasks'][number] & { error: string };
    expect(failed.task).toBe('validate_raw');
    expect(failed.error).toMatch(message);
    expect(json.tasks.filter((t) => t.status === 'skipped').map((t) => t.task)).toEqual(['clean_stage', 'build_dimensions', 'build_facts', 'load_redshift']);
  });

  it('serialises two runs of one day on the standing stack: one runs, the other is refused naming the holder; the one that ran holds exactly its own batch', async () => {
    const state = join(work, 'concurrent');
    const rows = await sampleRows();
    await writeFile(join(work, 'batch-a.csv'), csv(rows.slice(0, 900)));
    await writeFile(join(work, 'batch-b.csv'), csv(rows.slice(900, 1500)));
    const up = await trips(['local', 'up'], state);
    expect(up.code).toBe(0);
    try {
      const [a, b] = await Promise.all([
        trips(['run', '--input', join(work, 'batch-a.csv'), '--ds', '2018-06-26', '--json'], state),
        trips(['run', '--input', join(work, 'batch-b.csv'), '--ds', '2018-06-26', '--json'], state),
      ]);
      const outcomes = [a, b].map((r) => ({ code: r.code, run: JSON.parse(r.stdout) as RunJson & { error?: string } }));
      const ran = outcomes.find((o) => o.code === 0);
      const refused = outcomes.find((o) => o.code === 75);
      expect({ ran: !!ran, refused: !!refused }).toEqual({ ran: true, refused: true });
      expect(refused?.run.status).toBe('refused');
      expect(refused?.run.error).toMatch(/ds=2018-06-26 is locked by run trips-run-\S+ \(task /);
      const validate = task(ran!.run, 'validate_raw');
      const own = ran === outcomes[0] ? 900 : 600;
      expect(validate.rows.read).toBe(own);
      expect(task(ran!.run, 'clean_stage').rows.read).toBe(validate.rows.passed);
      expect(await count(state, 'select count(*) as n from trips.fact_trips')).toBe(task(ran!.run, 'clean_stage').rows.passed);
      // The lock is free again: the refused run can go now.
      const again = refused === outcomes[0] ? 'batch-a.csv' : 'batch-b.csv';
      expect((await trips(['run', '--input', join(work, again), '--ds', '2018-06-26', '--json'], state)).code).toBe(0);
    } finally {
      await trips(['local', 'down'], state);
    }
  });

  it('a task of another run is refused while a run holds the day (the protection Airflow runs get), exit 75', async () => {
    const state = join(work, 'task-lock');
    await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    const up = await trips(['local', 'up'], state);
    expect(up.code).toBe(0);
    try {
      const env = await tripsJson<Record<string, string>>(['local', 'env'], state);
      const app = (id: string, runId: string) => runBundle('clean-stage', ['--ds', '2018-05-28', '--run-id', runId], env);
      // Run A's first task hands the lock on to A's next task...
      expect(runBundle('validate-raw', ['--ds', '2018-05-28', '--run-id', 'run-a'], env).status).toBe(0);
      // ...so a task of run B is refused, and one of run A goes on.
      const b = app('clean', 'run-b');
      expect(b.status).toBe(75);
      expect(b.stderr).toContain('ds=2018-05-28 is locked by run run-a');
      expect(app('clean', 'run-a').status).toBe(0);
      // The run's closing step frees the day.
      expect(runBundle('load-redshift', ['--ds', '2018-05-28', '--run-id', 'run-a', '--release-lock'], env).status).toBe(0);
      expect(app('clean', 'run-b').status).toBe(0);
      // The standing stack serves the buckets over S3: a run asking for the file store beside it is refused.
      const files = await trips(['run', '--input', SAMPLE, '--ds', '2018-05-28', '--store', 'files'], state);
      expect(files.code).toBe(75);
      expect(files.stderr).toContain('--store files: the standing stack (trips local up) serves the buckets');
    } finally {
      await trips(['local', 'down'], state);
    }
  });

  it('rejects with a reason every row a later task could not take, and makes lookalike names one name', async () => {
    const good = (region: string, minute: number, datasource = 'funny_car') => `${region},POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 10:${String(minute).padStart(2, '0')}:00,${datasource}`;
    const rows = [
      ...hardRows(good),
      good('Prague\u00a0', 8),
      good('Pra\u200bgue', 9, 'funny_car\u00a0'),
      good('Prague', 10).replace('2018-06-26', '1000-01-01'),
      good('Turin', 11),
    ];
    const input = join(work, 'hard.csv');
    await writeFile(input, csv(rows));
    const state = join(work, 'hard-state');
    const run = await tripsJson<RunJson>(['run', '--input', input, '--ds', '2018-06-26', '--max-reject-ratio', '1'], state);
    expect(run.status).toBe('succeeded');
    expect(task(run, 'validate_raw').rejectedByReason).toEqual({ control_character: 2, field_too_long: 2, datetime_out_of_range: 2 });
    expect(task(run, 'load_redshift').status).toBe('succeeded');
    const regions = await tripsJson<Array<{ name: string }>>(['sql', 'select name from trips.dim_region order by name'], state);
    expect(regions.map((r) => r.name)).toEqual(['Prague', 'Turin']);
    const datasources = await tripsJson<Array<{ name: string }>>(['sql', 'select name from trips.dim_datasource'], state);
    expect(datasources.map((r) => r.name)).toEqual(['funny_car']);
    expect(await count(state, 'select count(*) as n from trips.fact_trips')).toBe(5);
  });

  it('answers weekly questions whatever dates the warehouse holds', async () => {
    const state = join(work, 'far-dates');
    await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    // A warehouse loaded before dates were bounded may hold any date.
    await trips(['sql', "insert into trips.agg_weekly_region (week_start_date, region_key, trips) select d, region_key, 1 from trips.dim_region, (values (date '0999-12-30'), (date '9999-12-27')) v(d) where name = 'Prague'"], state);
    const text = await trips(['query', 'weekly-average', '--region', 'Prague'], state);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/weeks without trips not listed/);
    expect(text.stdout).toMatch(/region Prague: 0\.00 trips per week on average over 469598 week\(s\) from 0999-12-30 to 9999-12-27/);
    const json = await tripsJson<{ weeks: unknown[]; totalTrips: number }>(['query', 'weekly-average', '--region', 'Prague', '--from', '2018-05-28', '--to', '2018-06-10'], state);
    expect(json.weeks).toHaveLength(2);
  });

  it('counts files refused whole in the gate, and says so when every file is refused', async () => {
    const dir = join(work, 'gzip');
    await mkdir(dir);
    await writeFile(join(dir, 'good.csv'), csv((await sampleRows()).slice(0, 20)));
    // A gzip delivery cut short: validate-raw reads whole gzip files, and refuses a corrupt one whole.
    const gzip = spawnSync('gzip', ['-c', SAMPLE]).stdout as Buffer;
    await writeFile(join(dir, 'trips.csv'), gzip.subarray(0, gzip.length - 100));
    const state = join(work, 'gzip-state');
    const mixed = await trips(['run', '--input', dir, '--ds', '2018-06-26', '--json'], state);
    expect(mixed.code).not.toBe(0);
    const run = JSON.parse(mixed.stdout) as RunJson & { tasks: Array<{ error?: string }> };
    expect(run.tasks[0]).toMatchObject({ task: 'validate_raw', status: 'failed' });
    expect(run.tasks[0].error).toMatch(/files refused whole hold \d+\.\d+% of the batch's bytes/);
    const only = await trips(['run', '--input', join(dir, 'trips.csv'), '--ds', '2018-06-27', '--json', '--max-reject-ratio', '1'], state);
    expect(only.code).not.toBe(0);
    expect((JSON.parse(only.stdout) as { tasks: Array<{ error?: string }> }).tasks[0].error).toMatch(/every file of the batch was refused whole \(.*trips\.csv: bad_gzip\)/);
  });

  it('refuses an unreadable input as a usage error, before touching the day\'s batch', async () => {
    const state = join(work, 'atomic');
    const first = await tripsJson<RunJson>(['run', '--input', SAMPLE, '--ds', '2018-05-28'], state);
    const dir = join(work, 'loop');
    await mkdir(dir);
    await writeFile(join(dir, 'a.csv'), csv((await sampleRows()).slice(0, 10)));
    await symlink('b.csv', join(dir, 'b.csv')); // a symlink loop: reading it fails with ELOOP
    const r = await trips(['run', '--input', dir, '--ds', '2018-05-28', '--json'], state);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--input .*b\.csv: cannot read it \(ELOOP\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // The batch landed before is whole: a rerun of the day finds the sample as it was.
    const again = await tripsJson<RunJson>(['run', '--ds', '2018-05-28'], state);
    expect(task(again, 'validate_raw').rows).toEqual(task(first, 'validate_raw').rows);
  });

  it('recovers the stand-ins and scratch folders a killed command left behind', async () => {
    const state = join(work, 'killed-cli');
    const run = background(['run', '--input', generated, '--ds', '2018-06-26'], state);
    await run.started;
    const { pg } = stackRecord(state);
    // Killed as `kill -9` kills: the command, and the task it was running, with no time to clean up.
    const workDir = join(state, 'work');
    for (let i = 0; i < 200 && !(existsSync(workDir) && readdirSync(workDir).some((d) => d.startsWith('validate-'))); i++) await new Promise((r) => setTimeout(r, 50));
    const taskPid = Number(readdirSync(workDir).find((d) => d.startsWith('validate-'))?.split('-')[1]);
    expect(alive(taskPid)).toBe(true);
    run.child.kill('SIGKILL');
    process.kill(taskPid, 'SIGKILL');
    await run.done;
    // PostgreSQL outlives the command; the S3 server noticed its parent was gone.
    expect(alive(pg.pid)).toBe(true);
    expect(readdirSync(workDir).length).toBeGreaterThan(0);
    const next = await trips(['run', '--input', SAMPLE, '--ds', '2018-05-28', '--json'], state);
    expect(next.code).toBe(0);
    expect(next.stderr).toMatch(/stopped stand-ins left running: PostgreSQL \(pid \d+\)/);
    expect(next.stderr).toMatch(/removed \d+ scratch folder\(s\) of killed tasks/);
    expect(readdirSync(workDir)).toEqual([]);
    expect(alive(pg.pid)).toBe(false);
  });
});
