/**
 * Does a day's load cost depend on the batch or on the warehouse? The same day (a batch of --batch
 * generated trips) is loaded into a near-empty warehouse and into one already holding --days other
 * days of the same size, in the same run; the ratio of the two load_redshift times is the answer
 * (1.0: only the batch counts). Then the day is loaded again, and the facts must not change (reruns
 * stay exact).
 *
 *   node tools/bench/run.mjs load-growth [--batch 200000] [--days 10] [--repeat 3]
 *
 * A single load of each varies by a tenth or more from run to run on this machine, about as much
 * as the bound it is measured against, so the day is loaded --repeat times into each warehouse,
 * each time into a fresh copy of it, alternating which goes first, and the medians are compared.
 * The near-empty warehouse holds the committed sample (1,968 trips): its tables exist, so creating
 * them is not counted as the load's.
 *
 * Not a test: it prints figures for people to read, and a JSON line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stopStack } from '@trips/local';
import { median } from './stats';

const root = join(__dirname, '..', '..');
// run.mjs passes --batch (its default is in budget.mjs).
const { values } = parseArgs({ options: { batch: { type: 'string' }, days: { type: 'string', default: '10' }, repeat: { type: 'string', default: '3' } } });
const batch = Number(values.batch);
const days = Number(values.days);
const repeat = Number(values.repeat);
if (!(Number.isInteger(days) && days >= 1)) throw new Error(`--days must be a whole number of at least 1, got ${values.days}`);
if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`--repeat must be a whole number of at least 1, got ${values.repeat}`);
const work = mkdtempSync(join(tmpdir(), 'trips-bench-load-'));
const SAMPLE = join(root, 'libs/testing/fixtures/sample/trips-sample.csv');

interface RunJson {
  status: string;
  tasks: Array<{ task: string; durationMs: number; rows: { read: number } | null }>;
}

let lastStderr = '';

function trips(state: string, args: string[]): string {
  const r = spawnSync(process.execPath, [join(root, 'bin/trips.cjs'), ...args], { cwd: root, env: { ...process.env, TRIPS_STATE_DIR: state, TRIPS_QUERY_KEEP_SECONDS: '0' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`trips ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  lastStderr = r.stderr;
  return r.stdout;
}

const day = (i: number) => new Date(Date.UTC(2018, 5, 1 + i)).toISOString().slice(0, 10);

/** The load's stages that took a second or more, as `trips run` printed them. */
const slowSteps = () =>
  lastStderr
    .split('\n')
    .filter((l) => l.includes('load_redshift:') && l.includes('done in'))
    .map((l) => `\n  ${l.trim()}`)
    .join('');

/** Loads `file` as day `ds`; the load task's wall time in seconds. */
function load(state: string, file: string, ds: string): number {
  const run = JSON.parse(trips(state, ['run', '--input', file, '--ds', ds, '--json'])) as RunJson;
  if (run.status !== 'succeeded') throw new Error(`run of ${ds} ${run.status}`);
  return (run.tasks.find((t) => t.task === 'load_redshift')?.durationMs ?? 0) / 1000;
}

const facts = (state: string) => (JSON.parse(trips(state, ['sql', '--json', 'select count(*) as n, sum(hashtext(trip_id::text)::bigint) as h from trips.fact_trips'])) as Array<{ n: number; h: number }>)[0];

/** A copy of a stopped state folder, owners and modes kept (PostgreSQL's data folder needs both). */
function copyState(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  const r = spawnSync('cp', ['-a', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to} exited ${r.status}: ${r.stderr}`);
}

async function main(): Promise<void> {
  try {
    const files = Array.from({ length: days + 1 }, (_, i) => join(work, `day-${i}.csv`));
    console.error(`generating ${days + 1} days of ${batch.toLocaleString('en-US')} trips…`);
    files.forEach((f, i) => trips(join(work, 'gen'), ['generate', '--out', f, '--rows', String(batch), '--seed', String(100 + i), '--start', day(i), '--days', '7']));
    const probe = files[days];
    const probeDs = day(days);

    // The near-empty warehouse: the committed sample, in a week of its own before the days.
    const nearEmpty = join(work, 'near-empty');
    trips(nearEmpty, ['run', '--input', SAMPLE, '--ds', '2018-05-28']);
    const sampleTrips = facts(nearEmpty).n;
    // Nothing may run on a state folder while it is copied (trips runs with no PostgreSQL kept; this makes sure).
    await stopStack(nearEmpty);

    const full = join(work, 'full');
    const growth: Array<{ warehouseTrips: number; seconds: number }> = [];
    for (let i = 0; i < days; i++) {
      const seconds = load(full, files[i], day(i));
      growth.push({ warehouseTrips: i * batch, seconds });
      console.error(`day ${i + 1} of ${days} into ${(i * batch).toLocaleString('en-US')} trips: ${seconds.toFixed(1)} s`);
    }
    const held = facts(full).n;
    await stopStack(full);

    const into = { nearEmpty: [] as number[], full: [] as number[] };
    const trial = join(work, 'trial');
    for (let k = 0; k < repeat; k++) {
      for (const which of k % 2 === 0 ? (['nearEmpty', 'full'] as const) : (['full', 'nearEmpty'] as const)) {
        copyState(which === 'full' ? full : nearEmpty, trial);
        const seconds = load(trial, probe, probeDs);
        into[which].push(seconds);
        const holding = which === 'full' ? held : sampleTrips;
        console.error(`trial ${k + 1} of ${repeat}, into ${holding.toLocaleString('en-US')} trips: ${seconds.toFixed(1)} s${slowSteps()}`);
        await stopStack(trial);
        if (which === 'full' && k === repeat - 1) {
          // The last copy of the full warehouse, the day loaded, takes its place: the rerun's.
          rmSync(full, { recursive: true, force: true });
          renameSync(trial, full);
        } else rmSync(trial, { recursive: true, force: true });
      }
    }

    const before = facts(full);
    const rerun = load(full, probe, probeDs);
    const after = facts(full);
    await stopStack(full);
    const empty = median(into.nearEmpty);
    const loaded = median(into.full);
    const result = {
      batch,
      repeat,
      nearEmptyTrips: sampleTrips,
      warehouseTrips: held,
      loadIntoNearEmptySeconds: into.nearEmpty.map((s) => +s.toFixed(2)),
      loadIntoFullSeconds: into.full.map((s) => +s.toFixed(2)),
      medianIntoNearEmptySeconds: +empty.toFixed(2),
      medianIntoFullSeconds: +loaded.toFixed(2),
      ratio: +(loaded / empty).toFixed(2),
      rerunSeconds: +rerun.toFixed(2),
      rerunExact: before.n === after.n && before.h === after.h,
      growth,
    };
    console.log(
      `batch ${batch.toLocaleString('en-US')} trips, loaded ${repeat} times into each warehouse (median): into ${sampleTrips.toLocaleString('en-US')} trips ${empty.toFixed(1)} s, into ${held.toLocaleString('en-US')} trips ${loaded.toFixed(1)} s: ${result.ratio}x; rerun ${rerun.toFixed(1)} s, exact: ${result.rerunExact}`,
    );
    console.log(JSON.stringify(result));
  } finally {
    for (const dir of ['near-empty', 'full', 'trial']) await stopStack(join(work, dir)).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
