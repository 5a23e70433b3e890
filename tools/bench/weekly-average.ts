/**
 * How fast `weekly-average` answers on a large warehouse, against the brute-force SQL over
 * fact_trips measured on the same data in the same run.
 *
 *   node tools/bench/run.mjs weekly-average [--rows 1000000] [--state DIR]
 *
 * Without --state it works in a temporary folder deleted at the end; with --state the folder is
 * kept, and when it already holds a loaded warehouse the generate and load steps are skipped (so a
 * large run, --rows 20000000 for 20 GB and an hour, is paid once).
 * Not a test: it prints figures for people to read.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres, stopStack } from '@trips/local';
import { PostgresQueries, weeklyAverage, type WeeklyRequest } from '@trips/warehouse';

const root = join(__dirname, '..', '..');
// run.mjs passes --rows (its default is in budget.mjs).
const { values } = parseArgs({ options: { rows: { type: 'string' }, state: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const state = values.state ?? mkdtempSync(join(tmpdir(), 'trips-bench-weekly-'));
const trips = (args: string[]) => {
  const r = spawnSync(process.execPath, [join(root, 'bin/trips.cjs'), ...args], { cwd: root, env: { ...process.env, TRIPS_STATE_DIR: state }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`trips ${args.join(' ')} exited ${r.status}`);
};

async function timed<T>(fn: () => Promise<T>, runs: number): Promise<{ ms: number; result: T }> {
  const times: number[] = [];
  let result: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    result = await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], result: result as T };
}

async function main(): Promise<void> {
  if (!existsSync(join(state, 'pg', 'data'))) {
    mkdirSync(state, { recursive: true });
    const input = join(state, 'trips.csv');
    console.error(`generating ${values.rows} trips and loading them (this takes a while)…`);
    trips(['generate', '--out', input, '--rows', values.rows as string, '--seed', '2018', '--days', '28']);
    trips(['run', '--input', input, '--ds', '2018-06-25']);
  }
  await stopStack(state); // a PostgreSQL an earlier query keeps on this folder (TRIPS_QUERY_KEEP_SECONDS)
  const pg = await startPostgres({ dataDir: join(state, 'pg', 'data') });
  const wh = new PostgresQueries(pg.url);
  const runs = Number(values.runs);
  try {
    const [{ n }] = await wh.query<{ n: string }>('select count(*) as n from trips.fact_trips');
    console.log(`fact_trips: ${Number(n).toLocaleString('en-US')} trips; median of ${runs} runs each\n`);
    const box = { minLon: 14.22, minLat: 49.94, maxLon: 14.71, maxLat: 50.18 };
    const cases: Array<{ label: string; request: WeeklyRequest; brute: string }> = [
      { label: 'region Prague', request: { area: { region: 'Prague' } }, brute: "f.region_key = (select region_key from trips.dim_region where name = 'Prague')" },
      { label: 'box over Prague (origin)', request: { area: { box, match: 'origin' } }, brute: 'origin_lon between 14.22 and 14.71 and origin_lat between 49.94 and 50.18' },
      {
        label: 'box over Prague (both)',
        request: { area: { box, match: 'both' } },
        brute: 'origin_lon between 14.22 and 14.71 and origin_lat between 49.94 and 50.18 and dest_lon between 14.22 and 14.71 and dest_lat between 49.94 and 50.18',
      },
    ];
    console.log('question                    weekly-average ms  brute force ms  speed-up  same answer');
    for (const c of cases) {
      const fast = await timed(() => weeklyAverage(wh, c.request), runs);
      const brute = await timed(
        () => wh.query<{ w: string; n: string }>(`select cast(date_trunc('week', trip_ts) as date) as w, count(*) as n from trips.fact_trips f where ${c.brute} group by 1`),
        runs,
      );
      const same = brute.result.reduce((s, r) => s + Number(r.n), 0) === fast.result.totalTrips;
      console.log(`${c.label.padEnd(27)} ${fast.ms.toFixed(1).padStart(17)}  ${brute.ms.toFixed(1).padStart(14)}  ${(brute.ms / fast.ms).toFixed(0).padStart(7)}x  ${same}`);
    }
  } finally {
    await wh.close();
    await pg.stop();
    if (values.state === undefined) rmSync(state, { recursive: true, force: true });
  }
}

void main();
