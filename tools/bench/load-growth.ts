/**
 * Does a day's load cost depend on the batch or on the warehouse? The same day (a batch of --batch
 * generated trips) is loaded into an empty warehouse and into one already holding --days other days
 * of the same size, in the same run; the ratio of the two load_redshift times is the answer (1.0:
 * only the batch counts). Then the day is loaded again, and the facts must not change (reruns stay
 * exact).
 *
 *   node tools/bench/run.mjs load-growth [--batch 200000] [--days 10]
 *
 * Not a test: it prints figures for people to read, and a JSON line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(__dirname, '..', '..');
// run.mjs passes --batch (its default is in budget.mjs).
const { values } = parseArgs({ options: { batch: { type: 'string' }, days: { type: 'string', default: '10' } } });
const batch = Number(values.batch);
const days = Number(values.days);
const work = mkdtempSync(join(tmpdir(), 'trips-bench-load-'));

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
const slowSteps = () => lastStderr.split('\n').filter((l) => l.includes('load_redshift:') && l.includes('done in')).map((l) => l.trim());

/** Loads `file` as day `ds`; the load task's wall time in seconds. */
function load(state: string, file: string, ds: string): number {
  const run = JSON.parse(trips(state, ['run', '--input', file, '--ds', ds, '--json'])) as RunJson;
  if (run.status !== 'succeeded') throw new Error(`run of ${ds} ${run.status}`);
  return (run.tasks.find((t) => t.task === 'load_redshift')?.durationMs ?? 0) / 1000;
}

const facts = (state: string) => (JSON.parse(trips(state, ['sql', '--json', 'select count(*) as n, sum(hashtext(trip_id)::bigint) as h from trips.fact_trips'])) as Array<{ n: number; h: number }>)[0];

function main(): void {
  try {
    const files = Array.from({ length: days + 1 }, (_, i) => join(work, `day-${i}.csv`));
    console.error(`generating ${days + 1} days of ${batch.toLocaleString('en-US')} trips…`);
    files.forEach((f, i) => trips(join(work, 'gen'), ['generate', '--out', f, '--rows', String(batch), '--seed', String(100 + i), '--start', day(i), '--days', '7']));
    const probe = files[days];
    const probeDs = day(days);

    const empty = load(join(work, 'empty'), probe, probeDs);
    console.error(`into an empty warehouse: ${empty.toFixed(1)} s\n  ${slowSteps().join('\n  ')}`);

    const full = join(work, 'full');
    const growth: Array<{ warehouseTrips: number; seconds: number }> = [];
    for (let i = 0; i < days; i++) {
      const seconds = load(full, files[i], day(i));
      growth.push({ warehouseTrips: i * batch, seconds });
      console.error(`day ${i + 1} of ${days} into ${(i * batch).toLocaleString('en-US')} trips: ${seconds.toFixed(1)} s`);
    }
    const into = load(full, probe, probeDs);
    console.error(`into ${(days * batch).toLocaleString('en-US')} trips: ${into.toFixed(1)} s\n  ${slowSteps().join('\n  ')}`);
    const before = facts(full);
    const rerun = load(full, probe, probeDs);
    const after = facts(full);
    const result = {
      batch,
      warehouseTrips: days * batch,
      loadIntoEmptySeconds: +empty.toFixed(2),
      loadIntoFullSeconds: +into.toFixed(2),
      ratio: +(into / empty).toFixed(2),
      rerunSeconds: +rerun.toFixed(2),
      rerunExact: before.n === after.n && before.h === after.h,
      growth,
    };
    console.log(`batch ${batch.toLocaleString('en-US')} trips: load into an empty warehouse ${empty.toFixed(1)} s, into one of ${(days * batch).toLocaleString('en-US')} trips ${into.toFixed(1)} s: ${result.ratio}x; rerun ${rerun.toFixed(1)} s, exact: ${result.rerunExact}`);
    console.log(JSON.stringify(result));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
