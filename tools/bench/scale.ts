/**
 * The pipeline at scale: --days daily batches of generated trips (--trips in all, `trips generate
 * --gzip --bad-ratio 0.01 --duplicate-ratio 0.01`, each day's trips spread over the week from its
 * day, so neighbouring days overlap as late deliveries do) run one after another into one warehouse
 * with `trips run` (with --resend, each day from the second also delivers again the first SHARE of
 * the day before's rows, as a file of its own: a partner re-sending part of yesterday's file, which
 * the warehouse keeps once, under the earlier day), measured per day and per task; the engines' floors on the first and last day's
 * data in the same run; then every question against brute force on the final warehouse.
 *
 *   node tools/bench/run.mjs scale [--trips 1000000] [--days 10] [--resend SHARE] [--bundled] [--store s3|files] [--out DIR] [--runs 20] [--brute-runs 5] [--keep]
 *   node tools/bench/run.mjs scale --questions-on DIR/state [--only TEXT] [--runs 20] [--brute-runs 5]
 *
 * Writes DIR/scale.json, DIR/scale.md and DIR/scale.svg (default DIR: bench-results/scale-<trips>,
 * git-ignored), and until then DIR/scale.partial.json after each day (`--from-json` renders it).
 * Measured per day: wall and CPU time of the whole run (all processes of the machine, PostgreSQL's
 * too, from /proc/stat), each task's wall time (from `trips run --json`), CPU time and peak
 * resident memory (of its Node process), the warehouse's trips before the day, the disk the state
 * folder uses after it, and the peak disk the whole bench used (free space sampled every second);
 * at the end, the warehouse's tables and indexes by size. The floors (the least any design could
 * spend on this machine):
 * - lake: DuckDB reads the day's gzip CSV (the pipeline's input), applies the row rules (parsable
 *   time and points, a region and a datasource), keys each trip with md5, drops repeats and writes
 *   Parquet;
 * - warehouse: PostgreSQL COPYs the day's fact rows into a table without indexes, in its binary
 *   format as the load does (and as CSV, the floor of runs before the load copied binary).
 * With --bundled the tasks run from their esbuild bundles (`trips run --bundled`), the files their
 * containers run, built first, and `trips run` itself from the CLI's bundle (dist/apps/trips-cli,
 * 0.2 s sooner at its start than through tsx; on AWS no CLI runs at all, Airflow starts the tasks);
 * otherwise everything from the TypeScript sources through tsx, as `npm start` runs them (each task
 * then starts about 0.25 s later). With --store files the tasks read and write
 * the buckets as files (`trips run --store files`) instead of through the local S3 server.
 * Not a test (a small run of it is: apps/trips-e2e scale smoke); it prints figures for people.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { folderBytes, startPostgres, stopStack } from '@trips/local';
import { PIPELINE } from '@trips/pipeline';
import { PostgresQueries } from '@trips/warehouse';
import { measureQuestions, questionLines, type QuestionTiming } from './questions';
import { median } from './stats';
import { COLOURS, lineChart, stack } from './svg-chart';

const root = join(__dirname, '..', '..');
// run.mjs passes --trips (its default is in budget.mjs).
const { values } = parseArgs({
  options: {
    trips: { type: 'string' },
    days: { type: 'string', default: '10' },
    resend: { type: 'string', default: '0' },
    out: { type: 'string' },
    runs: { type: 'string', default: '20' },
    'brute-runs': { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
    // The tasks from their esbuild bundles, as their containers run them (built first).
    bundled: { type: 'boolean', default: false },
    // How the tasks reach the buckets: the local S3 server (s3), or its folder as files (`trips run --store files`).
    store: { type: 'string', default: 's3' },
    // Writes scale.md and scale.svg again from a scale.json of an earlier run, running nothing.
    'from-json': { type: 'string' },
    // Times the questions (--only: those whose name holds it) on the warehouse of a state folder, e.g.
    // DIR/state of a run kept with --keep, running nothing else and writing nothing.
    'questions-on': { type: 'string' },
    only: { type: 'string' },
    // The floors on every Nth day besides the first and the last (by default about ten days' worth).
    'floors-every': { type: 'string' },
  },
});
const total = Number(values.trips);
const days = Number(values.days);
const batch = Math.round(total / days);
if (!(days >= 1 && batch >= 1)) throw new Error(`--days must be at least 1 and at most --trips (${values.trips}), got ${values.days}`);
const resend = Number(values.resend);
if (!(resend >= 0 && resend <= 1)) throw new Error(`--resend must be a share of a day's rows from 0 to 1, got ${values.resend}`);
const resendRows = Math.round(resend * batch);
const out = resolve(values.out ?? join(root, 'bench-results', `scale-${total}`));
const bundled = values.bundled === true;
if (values.store !== 's3' && values.store !== 'files') throw new Error(`--store must be s3 or files, got ${values.store}`);
const storeKind = values.store;
const runFrom = [...(bundled ? ['--bundled'] : []), '--store', storeKind];
const floorsEvery = Number(values['floors-every'] ?? Math.max(1, Math.round(days / 10)));
if (!(Number.isInteger(floorsEvery) && floorsEvery >= 1)) throw new Error(`--floors-every must be a whole number of days, at least 1, got ${values['floors-every']}`);
/** Whether day i (from 0) measures the floors: the first, the last and every --floors-every-th. */
const floorsOn = (i: number) => i === 0 || i === days - 1 || (i + 1) % floorsEvery === 0;

/** Builds the bundles of the pipeline's apps, which `trips run --bundled` runs, and the CLI's (`nx run-many -t build`). */
function buildBundles(): void {
  const apps = [...new Set(PIPELINE.tasks.map((t) => t.app)), 'trips-cli'];
  console.error(`building the bundles of ${apps.join(', ')}…`);
  const built = spawnSync(process.execPath, [require.resolve('nx/bin/nx.js'), 'run-many', '-t', 'build', '-p', apps.join(','), '--output-style=static'], { cwd: root, env: { ...process.env, NX_DAEMON: 'false' }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) throw new Error(`building the bundles failed (exit ${built.status}): run \`npx nx run-many -t build -p ${apps.join(',')}\` to see why`);
}
const work = mkdtempSync(join(tmpdir(), 'trips-bench-scale-'));
const state = join(work, 'state');
const rssFile = join(work, 'rss.jsonl');
const day = (i: number) => new Date(Date.UTC(2018, 5, 4 + i)).toISOString().slice(0, 10);
const MiB = 2 ** 20;

/** Busy CPU seconds of the whole machine so far (every process: the tasks, PostgreSQL, the S3 server). */
function machineCpuSeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
}

const freeBytes = () => {
  const s = statfsSync(work);
  return s.bavail * s.bsize;
};
const startFree = freeBytes();
let minFree = startFree;
const sampler = setInterval(() => (minFree = Math.min(minFree, freeBytes())), 1000);

/**
 * Where `trips …` runs from: `trips run` with --bundled from the CLI's bundle, as the tasks from
 * theirs; every other command, and every command without --bundled, through bin/trips.cjs (tsx).
 */
const cliOf = (args: string[]) => (bundled && args[0] === 'run' ? join(root, 'dist/apps/trips-cli/main.js') : join(root, 'bin/trips.cjs'));

/** Runs `trips …` with the bench's state (or `stateDir`) and the memory hook; its stdout. */
function trips(args: string[], hook = false, stateDir = state): Promise<string> {
  const env = {
    ...process.env,
    TRIPS_STATE_DIR: stateDir,
    TRIPS_QUERY_KEEP_SECONDS: '0',
    // As bin/trips.cjs sets it: the SDK's notice that its 2027 releases need Node 22, said once in the README.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true',
    ...(hook ? { TRIPS_BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--require ${join(root, 'tools/bench/rss-hook.cjs')}` } : {}),
  };
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [cliOf(args), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok(stdout) : fail(new Error(`trips ${args.join(' ')} exited ${code}:\n${stderr}`))));
  });
}

interface TaskFigures {
  task: string;
  seconds: number;
  cpuSeconds: number | null;
  peakRssMiB: number | null;
  rowsRead: number | null;
}
interface DayFigures {
  day: number;
  ds: string;
  warehouseTripsBefore: number;
  inputRows: number;
  /** Of the input rows, those the day delivered again from the day before (--resend). */
  resentRows?: number;
  facts: number;
  seconds: number;
  cpuSeconds: number;
  stateBytes: number;
  tasks: TaskFigures[];
}
interface RunJson {
  status: string;
  tasks: Array<{ task: string; app: string; durationMs: number; rows: { read: number } | null }>;
}

/** The day's tasks with the CPU time and peak RSS of their processes (the memory hook's records). */
function taskFigures(run: RunJson): TaskFigures[] {
  const records = existsSync(rssFile) ? (readFileSync(rssFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) as Array<{ argv: string[]; maxRssKiB: number; cpuMs: number }>) : [];
  rmSync(rssFile, { force: true });
  return run.tasks.map((t) => {
    const mine = records.filter((r) => r.argv.some((a) => a.includes(`apps/${t.app}/`)));
    return {
      task: t.task,
      seconds: +(t.durationMs / 1000).toFixed(2),
      cpuSeconds: mine.length ? +(mine.reduce((s, r) => s + r.cpuMs, 0) / 1000).toFixed(2) : null,
      peakRssMiB: mine.length ? Math.round(Math.max(...mine.map((r) => r.maxRssKiB)) / 1024) : null,
      rowsRead: t.rows?.read ?? null,
    };
  });
}

/** Writes the header and the first `rows` rows of the gzip CSV `src` to `dst`, gzip too (the generator writes one row a line). */
async function firstRows(src: string, dst: string, rows: number): Promise<void> {
  const lines = createInterface({ input: createReadStream(src).pipe(createGunzip()), crlfDelay: Infinity });
  const gzip = createGzip();
  const written = pipeline(gzip, createWriteStream(dst));
  let n = -1; // the header first
  for await (const line of lines) {
    if (!gzip.write(`${line}\n`)) await new Promise((ok) => gzip.once('drain', ok));
    if (++n >= rows) break;
  }
  lines.close();
  gzip.end();
  await written;
  if (n < rows) throw new Error(`${src} holds ${n} rows, fewer than the ${rows} to send again`);
}

/** The lake floor: DuckDB parses the CSV files (`csv` may be a glob), applies the row rules, keys and deduplicates the trips and writes Parquet. */
async function lakeFloor(csv: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await db.connect();
  const parquet = join(work, 'floor.parquet');
  // Both numbers by name in one match, which DuckDB computes once for the two (as the models' wkt macros do).
  const point = (c: string, n: 1 | 2) => `try_cast(regexp_extract(${c}, '^POINT \\(([-0-9.eE]+) ([-0-9.eE]+)\\)$', ['lon', 'lat']).${n === 1 ? 'lon' : 'lat'} as double)`;
  const t0 = process.hrtime.bigint();
  await con.run(`copy (
      select *, md5(concat_ws('|', region, datasource, datetime, origin_coord, destination_coord)) as trip_id
      from (select region, datasource, datetime, origin_coord, destination_coord, try_cast(datetime as timestamp) as trip_ts,
                   ${point('origin_coord', 1)} as origin_lon, ${point('origin_coord', 2)} as origin_lat,
                   ${point('destination_coord', 1)} as dest_lon, ${point('destination_coord', 2)} as dest_lat
            from read_csv('${csv}', delim = ',', quote = '"', header = true, all_varchar = true, ignore_errors = true))
      where trip_ts is not null and origin_lon is not null and origin_lat is not null and dest_lon is not null and dest_lat is not null
        and coalesce(region, '') <> '' and coalesce(datasource, '') <> ''
      qualify row_number() over (partition by trip_id) = 1
    ) to '${parquet}' (format parquet)`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  con.closeSync();
  db.closeSync();
  rmSync(parquet, { force: true });
  return seconds;
}

/**
 * The warehouse floor: the day's fact rows COPYed into a table without indexes, in PostgreSQL's
 * binary format, as the load copies them (parquet-pg.ts); and, `withCsv` (the first and last day),
 * for runs before the load did so, the same rows as CSV.
 */
async function warehouseFloor(url: string, ds: string, withCsv: boolean): Promise<{ binary: number; csv?: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const file = (format: string) => join(work, `floor.${format}`);
  try {
    const seconds = async (format: 'binary' | 'csv') => {
      await pipeline(c.query(copyTo(`copy (select * from trips.fact_trips where ds = '${ds}') to stdout (format ${format})`)), createWriteStream(file(format)));
      await c.query('drop table if exists public.bench_floor');
      await c.query('create table public.bench_floor (like trips.fact_trips)');
      const t0 = process.hrtime.bigint();
      await pipeline(createReadStream(file(format)), c.query(copyFrom(`copy public.bench_floor from stdin (format ${format})`)));
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const binary = await seconds('binary');
    return withCsv ? { binary, csv: await seconds('csv') } : { binary };
  } finally {
    await c.query('drop table if exists public.bench_floor').catch(() => undefined);
    await c.end();
    for (const format of ['binary', 'csv']) rmSync(file(format), { force: true });
  }
}

/** The engines' floors measured after a day, on its data; the CSV COPY on the first and last day only. */
interface Floor {
  day: number;
  lakeSeconds: number;
  warehouseSeconds: number;
  warehouseCsvSeconds?: number;
}

interface StorageRow {
  name: string;
  kind: 'table' | 'index';
  bytes: number;
}

/** The warehouse's tables and indexes with their day partitions summed (`…_dYYYYMMDD` folded), and their bytes. */
async function storage(wh: PostgresQueries): Promise<StorageRow[]> {
  const rows = await wh.query<{ name: string; kind: 'table' | 'index'; bytes: string }>(`
    select regexp_replace(c.relname, '_d[0-9]{8}', '') as name, case when c.relkind = 'i' then 'index' else 'table' end as kind, sum(pg_relation_size(c.oid)) as bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'trips' and c.relkind in ('r', 'i')
    group by 1, 2 order by 3 desc`);
  return rows.map((r) => ({ name: r.name, kind: r.kind, bytes: Number(r.bytes) }));
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const figures: DayFigures[] = [];
  const floors: Floor[] = [];
  let questions: QuestionTiming[] = [];
  let warehouseStorage: StorageRow[] = [];
  let factsBefore = 0;
  const t0 = Date.now();
  try {
    // A first run compiles the apps' TypeScript (tsx keeps it cached by content) and fills the OS's
    // caches: run on the committed sample into a state of its own, so that day 1, the baseline of
    // the load's growth, costs what a day costs.
    if (bundled) buildBundles();
    console.error('warming up: the committed sample into a throwaway state…');
    const warmUp = join(work, 'warm-up');
    await trips(['run', '--input', join(root, 'libs/testing/fixtures/sample/trips-sample.csv'), '--ds', '2018-05-28', ...runFrom], false, warmUp);
    await stopStack(warmUp);
    rmSync(warmUp, { recursive: true, force: true });
    for (let i = 0; i < days; i++) {
      // Delivered gzip-compressed, as SFTP deliveries often are: the raw bucket keeps a third of the bytes.
      // The day's delivery: its generated file and, with --resend, the day before's rows sent again.
      const delivery = join(work, `day-${i}`);
      mkdirSync(delivery, { recursive: true });
      const csv = join(delivery, `trips_${day(i)}.csv.gz`);
      await trips(['generate', '--gzip', '--out', csv, '--rows', String(batch), '--seed', String(7 + i), '--bad-ratio', '0.01', '--duplicate-ratio', '0.01', '--start', day(i), '--days', '7']);
      const resent = i > 0 && resendRows > 0 ? resendRows : 0;
      if (resent > 0) await firstRows(join(work, `day-${i - 1}`, `trips_${day(i - 1)}.csv.gz`), join(delivery, `resend_${day(i - 1)}.csv.gz`), resent);
      if (i > 0) rmSync(join(work, `day-${i - 1}`), { recursive: true, force: true });
      const cpu0 = machineCpuSeconds();
      const w0 = process.hrtime.bigint();
      const run = JSON.parse(await trips(['run', '--input', delivery, '--ds', day(i), '--json', ...runFrom], true)) as RunJson;
      const seconds = Number(process.hrtime.bigint() - w0) / 1e9;
      const cpuSeconds = machineCpuSeconds() - cpu0;
      if (run.status !== 'succeeded') throw new Error(`the run of ${day(i)} ${run.status}`);
      const [{ n }] = JSON.parse(await trips(['sql', '--json', 'select count(*) as n from trips.fact_trips'])) as Array<{ n: number }>;
      const tasks = taskFigures(run);
      const d: DayFigures = {
        day: i + 1,
        ds: day(i),
        warehouseTripsBefore: factsBefore,
        inputRows: batch + resent,
        ...(resendRows > 0 ? { resentRows: resent } : {}),
        facts: n,
        seconds: +seconds.toFixed(2),
        cpuSeconds: +cpuSeconds.toFixed(2),
        stateBytes: await folderBytes(state),
        tasks,
      };
      figures.push(d);
      factsBefore = n;
      // What a run cut short (a 100M run takes over an hour and a half) still tells: the days so far.
      writeFileSync(join(out, 'scale.partial.json'), `${JSON.stringify({ ...summarise(figures, floors, [], (Date.now() - t0) / 1000), warehouseStorage: [] }, null, 2)}\n`);
      console.error(
        `day ${i + 1} of ${days} (${day(i)}, ${batch.toLocaleString('en-US')} rows${resent ? ` and ${resent.toLocaleString('en-US')} sent again` : ''}) into ${d.warehouseTripsBefore.toLocaleString('en-US')} trips: ${fmt(seconds)} s wall, ${fmt(cpuSeconds)} CPU-s; ` +
          tasks.map((t) => `${t.task} ${fmt(t.seconds)} s`).join(', '),
      );
      if (floorsOn(i)) {
        await stopStack(state);
        const lakeSeconds = await lakeFloor(join(delivery, '*.csv.gz'));
        const pg = await startPostgres({ dataDir: join(state, 'pg', 'data') });
        try {
          const warehouse = await warehouseFloor(pg.url, day(i), i === 0 || i === days - 1);
          // To 0.1 ms: a small run's binary COPY takes a few milliseconds, which two decimals made 0 (and
          // every ratio against it infinite).
          const csv = warehouse.csv === undefined ? {} : { warehouseCsvSeconds: +warehouse.csv.toFixed(4) };
          floors.push({ day: i + 1, lakeSeconds: +lakeSeconds.toFixed(4), warehouseSeconds: +warehouse.binary.toFixed(4), ...csv });
        } finally {
          await pg.stop();
        }
        const f = floors[floors.length - 1];
        const against = dayAgainstFloors(d, f, cpus().length);
        console.error(
          `floors on day ${i + 1}: lake ${fmt(f.lakeSeconds)} s, warehouse ${fmt(f.warehouseSeconds)} s (binary COPY${f.warehouseCsvSeconds === undefined ? '' : `; ${fmt(f.warehouseCsvSeconds)} s as CSV`}); ` +
            `the day ${against.ratio}x, its lake tasks ${against.lakeTasksRatio}x, its load ${against.loadRatio}x`,
        );
      }
      // The day's file stays until the next day has taken its rows to send again.
      if (resendRows === 0) rmSync(delivery, { recursive: true, force: true });
    }
    await onWarehouse(state, async (wh) => {
      console.error(questionsHeading(factsBefore));
      warehouseStorage = await storage(wh);
      questions = await measureQuestions(wh, Number(values.runs), Number(values['brute-runs']));
    });
  } finally {
    clearInterval(sampler);
    if (!values.keep) rmSync(work, { recursive: true, force: true });
    else console.error(`kept ${work}`);
  }
  const report = { ...summarise(figures, floors, questions, (Date.now() - t0) / 1000), warehouseStorage };
  writeFileSync(join(out, 'scale.json'), `${JSON.stringify(report, null, 2)}\n`);
  rmSync(join(out, 'scale.partial.json'), { force: true });
  writeFileSync(join(out, 'scale.md'), markdown(report));
  writeFileSync(join(out, 'scale.svg'), chart(report));
  console.log(await readFile(join(out, 'scale.md'), 'utf8'));
  console.error(`wrote ${join(out, 'scale.json')}, scale.md and scale.svg`);
}

type Report = ReturnType<typeof summarise> & { warehouseStorage?: StorageRow[] };

const LAKE_TASKS = ['validate_raw', 'clean_stage', 'build_dimensions', 'build_facts'];

/**
 * A day against the floors measured on its data: the day's wall time against both, its lake tasks'
 * against the lake's, its load's against the COPY's; and its CPU-seconds spread over the machine's
 * `cores` against both: the least its wall time could be, every core busy throughout, with its work
 * as it is.
 */
function dayAgainstFloors(d: DayFigures, f: Floor, cores: number) {
  const seconds = (task: string) => d.tasks.find((t) => t.task === task)?.seconds ?? 0;
  return {
    pipelineSeconds: d.seconds,
    floorSeconds: +(f.lakeSeconds + f.warehouseSeconds).toFixed(2),
    ratio: +(d.seconds / (f.lakeSeconds + f.warehouseSeconds)).toFixed(2),
    lakeTasksRatio: +(sum(LAKE_TASKS.map(seconds)) / f.lakeSeconds).toFixed(2),
    loadRatio: +(seconds('load_redshift') / f.warehouseSeconds).toFixed(2),
    cpuBoundRatio: +(d.cpuSeconds / cores / (f.lakeSeconds + f.warehouseSeconds)).toFixed(2),
  };
}

/** Every day whose floors were measured, against them. */
function daysAgainstFloors(figures: DayFigures[], floors: Floor[], cores: number) {
  return floors.flatMap((f) => {
    const d = figures.find((x) => x.day === f.day);
    return d ? [{ day: f.day, ...dayAgainstFloors(d, f, cores) }] : [];
  });
}

function medianAgainstFloors(days: ReturnType<typeof daysAgainstFloors>) {
  if (days.length === 0) return null;
  const of = (k: 'ratio' | 'lakeTasksRatio' | 'loadRatio' | 'cpuBoundRatio') => +median(days.map((x) => x[k])).toFixed(2);
  return { days: days.length, ratio: of('ratio'), lakeTasksRatio: of('lakeTasksRatio'), loadRatio: of('loadRatio'), cpuBoundRatio: of('cpuBoundRatio') };
}

function summarise(figures: DayFigures[], floors: Floor[], questions: QuestionTiming[], benchSeconds: number) {
  const taskNames = figures[0]?.tasks.map((t) => t.task) ?? [];
  const of = (d: DayFigures, task: string) => d.tasks.find((t) => t.task === task);
  const lastFloor = floors[floors.length - 1];
  const lastDay = figures[figures.length - 1];
  const firstDay = figures[0];
  // Linearity: seconds per million input rows over the last tenth of the days against the first tenth.
  const tenth = Math.max(1, Math.floor(figures.length / 10));
  const perMillion = (ds: DayFigures[]) => (sum(ds.map((d) => d.seconds)) / sum(ds.map((d) => d.inputRows))) * 1e6;
  const load = (d: DayFigures) => of(d, 'load_redshift')?.seconds ?? 0;
  const againstFloors = daysAgainstFloors(figures, floors, cpus().length);
  return {
    machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    tasksFrom: bundled ? ('bundles' as const) : ('sources' as const),
    store: storeKind,
    trips: sum(figures.map((d) => d.inputRows)),
    days: figures.length,
    batch: firstDay?.inputRows ?? 0,
    resend: figures.some((d) => d.resentRows !== undefined) ? { share: resend, rows: sum(figures.map((d) => d.resentRows ?? 0)) } : undefined,
    factsAtEnd: lastDay?.facts ?? 0,
    benchSeconds: +benchSeconds.toFixed(0),
    pipelineSeconds: +sum(figures.map((d) => d.seconds)).toFixed(1),
    pipelineCpuSeconds: +sum(figures.map((d) => d.cpuSeconds)).toFixed(1),
    peakDiskBytes: startFree - minFree,
    stateBytesAtEnd: lastDay?.stateBytes ?? 0,
    peakTaskRssMiB: Object.fromEntries(taskNames.map((t) => [t, Math.max(0, ...figures.map((d) => of(d, t)?.peakRssMiB ?? 0))])),
    floors,
    lastDayAgainstFloors:
      lastFloor && lastDay && lastFloor.day === lastDay.day
        ? {
            ...dayAgainstFloors(lastDay, lastFloor, cpus().length),
            // Against the CSV COPY floor, which runs before the binary load measured against.
            ...(lastFloor.warehouseCsvSeconds === undefined
              ? {}
              : { ratioCsvFloor: +(lastDay.seconds / (lastFloor.lakeSeconds + lastFloor.warehouseCsvSeconds)).toFixed(2), loadRatioCsvFloor: +(load(lastDay) / lastFloor.warehouseCsvSeconds).toFixed(2) }),
          }
        : null,
    // Each day whose floors were measured against them, and the median of those days: the machine's
    // speed drifts within a run (a day's floors have moved by a fifth between day 1 and day 12), so a
    // day is measured against the floors measured right after it.
    daysAgainstFloors: againstFloors,
    medianAgainstFloors: medianAgainstFloors(againstFloors),
    loadGrowth: firstDay && lastDay ? { firstDaySeconds: load(firstDay), lastDaySeconds: load(lastDay), warehouseTripsBeforeLastDay: lastDay.warehouseTripsBefore, ratio: +(load(lastDay) / load(firstDay)).toFixed(2) } : null,
    linearity: figures.length >= 2 ? { secondsPerMillionFirst: +perMillion(figures.slice(0, tenth)).toFixed(1), secondsPerMillionLast: +perMillion(figures.slice(-tenth)).toFixed(1), ratio: +(perMillion(figures.slice(-tenth)) / perMillion(figures.slice(0, tenth))).toFixed(2) } : null,
    questions,
    perDay: figures,
  };
}

function markdown(r: Report): string {
  const tasks = r.perDay[0]?.tasks.map((t) => t.task) ?? [];
  const lines = [
    `# Scale run: ${r.trips.toLocaleString('en-US')} trips as ${r.days} daily batches of ${r.batch.toLocaleString('en-US')}${r.resend ? `, each day from the second also sending again ${fmt(r.resend.share * 100, 0)}% of the day before's (${r.resend.rows.toLocaleString('en-US')} rows in all, counted in the trips)` : ''}`,
    '',
    `Machine: ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}; the tasks ran from their ${r.tasksFrom === 'bundles' ? 'esbuild bundles, as their containers do' : 'TypeScript sources'}, and reached the buckets ${r.store === 'files' ? 'as files (`--store files`)' : 'through the local S3 server'}. Bench ${Math.round(r.benchSeconds / 60)} min; pipeline ${fmt(r.pipelineSeconds)} s wall, ${fmt(r.pipelineCpuSeconds)} CPU-s (whole machine); ${r.factsAtEnd.toLocaleString('en-US')} trips in the warehouse at the end; peak disk ${fmt(r.peakDiskBytes / 1e9, 2)} GB (state ${fmt(r.stateBytesAtEnd / 1e9, 2)} GB at the end).`,
    '',
    '| | figure |',
    '|---|---|',
  ];
  if (r.lastDayAgainstFloors) {
    const f = r.lastDayAgainstFloors;
    lines.push(
      `| last day against the floors (lake + warehouse) | ${fmt(f.pipelineSeconds)} s / ${fmt(f.floorSeconds)} s = **${f.ratio}x** |`,
      `| lake tasks against the lake floor | ${f.lakeTasksRatio}x |`,
      `| load against the warehouse floor | ${f.loadRatio}x |`,
      ...(f.ratioCsvFloor === undefined ? [] : [`| the same against a CSV COPY floor (as runs before the binary load) | last day ${f.ratioCsvFloor}x, load ${f.loadRatioCsvFloor}x |`]),
    );
  }
  // A report of a run before the days were measured against their floors has them from its figures.
  const against = r.daysAgainstFloors ?? daysAgainstFloors(r.perDay, r.floors, r.machine.cores);
  const m = medianAgainstFloors(against);
  if (m) {
    lines.push(
      `| each day against the floors measured after it, median of the ${m.days} days measured | **${m.ratio}x** (lake tasks ${m.lakeTasksRatio}x, load ${m.loadRatio}x) |`,
      `| the same days' CPU-seconds over the ${r.machine.cores} cores against the floors: the least a day could take, every core busy, with its work as it is | ${m.cpuBoundRatio}x |`,
    );
  }
  if (r.loadGrowth) lines.push(`| load, last day (into ${r.loadGrowth.warehouseTripsBeforeLastDay.toLocaleString('en-US')} trips) against the first (into none) | ${fmt(r.loadGrowth.lastDaySeconds)} s / ${fmt(r.loadGrowth.firstDaySeconds)} s = **${r.loadGrowth.ratio}x** |`);
  if (r.linearity) lines.push(`| seconds per million rows, last tenth of the days against the first | ${fmt(r.linearity.secondsPerMillionLast)} / ${fmt(r.linearity.secondsPerMillionFirst)} = **${r.linearity.ratio}x** |`);
  lines.push(`| peak RSS per task (MiB) | ${Object.entries(r.peakTaskRssMiB).map(([t, m]) => `${t} ${m}`).join(', ')} |`, '');
  lines.push(
    '## Floors',
    '',
    'Measured after the day, on its data. The warehouse floor is a binary COPY, as the load copies; on the first and last day the CSV COPY of the same rows is beside it.',
    '',
    '| day | lake floor s | warehouse floor s | warehouse, as CSV s | the day against both | lake tasks against the lake floor | load against the warehouse floor |',
    '|---|---|---|---|---|---|---|',
    ...r.floors.map((f) => {
      const a = against.find((x) => x.day === f.day);
      const csv = f.warehouseCsvSeconds === undefined ? '' : fmt(f.warehouseCsvSeconds, 3);
      return `| ${f.day} | ${fmt(f.lakeSeconds, 3)} | ${fmt(f.warehouseSeconds, 3)} | ${csv} | ${a ? `${a.ratio}x` : ''} | ${a ? `${a.lakeTasksRatio}x` : ''} | ${a ? `${a.loadRatio}x` : ''} |`;
    }),
    '',
  );
  lines.push(
    '## Questions on the final warehouse',
    '',
    'ms: the median of the warm runs, in one session that keeps each question prepared; asked once: planned afresh each time, as `trips query` asks. The speed-up is of the first against brute force.',
    '',
    '| question | ms (median) | asked once, ms | brute force ms | speed-up | same answer |',
    '|---|---|---|---|---|---|',
  );
  lines.push(...r.questions.map((q) => `| ${q.question} | ${fmt(q.ms, 1)} | ${q.onceMs === undefined ? '' : fmt(q.onceMs, 1)} | ${fmt(q.bruteMs, 1)} | ${q.speedup}x | ${q.same ? 'yes' : '**no**'} |`), '');
  if (r.warehouseStorage?.length) {
    const per = (b: number) => fmt(b / 1e6 / (r.factsAtEnd / 1e6), 1);
    lines.push('## Warehouse storage', '', 'Tables and indexes over 1 MB, day partitions summed.', '');
    lines.push('| relation | kind | MB | MB per million trips |', '|---|---|---|---|');
    lines.push(...r.warehouseStorage.filter((x) => x.bytes > 1e6).map((x) => `| ${x.name} | ${x.kind} | ${fmt(x.bytes / 1e6, 0)} | ${per(x.bytes)} |`), '');
  }
  const resent = r.resend ? ' rows sent again |' : '';
  lines.push('## Per day', '', `| day | trips before |${resent} wall s | CPU-s | ${tasks.map((t) => `${t} s`).join(' | ')} | state GB |`, `|${'---|'.repeat(5 + tasks.length + (r.resend ? 1 : 0))}`);
  for (const d of r.perDay) {
    const again = r.resend ? ` ${(d.resentRows ?? 0).toLocaleString('en-US')} |` : '';
    lines.push(`| ${d.day} | ${d.warehouseTripsBefore.toLocaleString('en-US')} |${again} ${fmt(d.seconds)} | ${fmt(d.cpuSeconds)} | ${tasks.map((t) => fmt(d.tasks.find((x) => x.task === t)?.seconds ?? 0)).join(' | ')} | ${fmt(d.stateBytes / 1e9, 2)} |`);
  }
  lines.push('', '![time and memory per day](scale.svg)', '');
  return lines.join('\n');
}

function chart(r: Report): string {
  const tasks = r.perDay[0]?.tasks.map((t) => t.task) ?? [];
  const x = (d: DayFigures) => d.warehouseTripsBefore;
  // Each task keeps its colour in every chart.
  const series = (pick: (t: TaskFigures) => number | null) =>
    tasks.map((t, i) => ({ name: t, colour: COLOURS[i % COLOURS.length], points: r.perDay.map((d): [number, number] => [x(d), pick(d.tasks.find((k) => k.task === t) as TaskFigures) ?? 0]) }));
  return stack([
    lineChart('Seconds per day against the warehouse size', 'trips in the warehouse before the day', 'seconds', [
      { name: 'whole run', colour: '#333', points: r.perDay.map((d) => [x(d), d.seconds]) },
      ...series((t) => t.seconds),
    ]),
    lineChart('Peak resident memory per task', 'trips in the warehouse before the day', 'MiB', series((t) => t.peakRssMiB)),
    lineChart('Disk used by the state folder', 'trips in the warehouse before the day', 'MiB', [{ name: 'state', colour: '#333', points: r.perDay.map((d) => [x(d), d.stateBytes / MiB]) }]),
  ]);
}

function render(file: string): void {
  clearInterval(sampler);
  rmSync(work, { recursive: true, force: true });
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'scale.md'), markdown(report));
  writeFileSync(join(out, 'scale.svg'), chart(report));
  console.error(`wrote ${join(out, 'scale.md')} and scale.svg from ${file}`);
}

/** Runs `fn` on the warehouse of `stateDir`, on a PostgreSQL of its own (whatever stack ran there is stopped first). */
async function onWarehouse(stateDir: string, fn: (wh: PostgresQueries) => Promise<void>): Promise<void> {
  await stopStack(stateDir);
  const pg = await startPostgres({ dataDir: join(stateDir, 'pg', 'data') });
  const wh = new PostgresQueries(pg.url);
  try {
    await fn(wh);
  } finally {
    await wh.close();
    await pg.stop();
  }
}

const questionsHeading = (trips: number) => `the questions on ${trips.toLocaleString('en-US')} trips (median of ${values.runs} warm runs; brute force ${values['brute-runs']})…`;

/** The questions on an existing warehouse (--questions-on STATE [--only TEXT]), printed. */
async function questionsOn(stateDir: string): Promise<void> {
  clearInterval(sampler);
  rmSync(work, { recursive: true, force: true });
  const dataDir = join(stateDir, 'pg', 'data');
  if (!existsSync(join(dataDir, 'PG_VERSION'))) throw new Error(`--questions-on ${stateDir}: no warehouse there (no ${dataDir}); give a state folder, e.g. DIR/state of a run kept with --keep`);
  await onWarehouse(stateDir, async (wh) => {
    // The trips from an aggregate: counting fact_trips would read the whole table (16 GB at 98M).
    const [{ n }] = await wh.query<{ n: number }>('select coalesce(sum(trips), 0) as n from trips.agg_weekly_region');
    console.error(questionsHeading(Number(n)));
    for (const line of questionLines(await measureQuestions(wh, Number(values.runs), Number(values['brute-runs']), values.only))) console.log(line);
  });
}

const fail = (e: unknown) => {
  clearInterval(sampler);
  console.error(e);
  process.exit(1);
};
if (values['from-json']) render(values['from-json']);
else if (values['questions-on']) void questionsOn(values['questions-on']).catch(fail);
else void main().catch(fail);
