/**
 * How fast every question (`weekly-average` by region and by box, groups, latest-datasource,
 * regions) answers on a large warehouse, against the brute-force SQL over fact_trips measured on the
 * same data in the same run (questions.ts).
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
import { PostgresQueries } from '@trips/warehouse';
import { measureQuestions, questionLines } from './questions';

const root = join(__dirname, '..', '..');
// run.mjs passes --rows (its default is in budget.mjs).
const { values } = parseArgs({ options: { rows: { type: 'string' }, state: { type: 'string' }, runs: { type: 'string', default: '5' } } });
const state = values.state ?? mkdtempSync(join(tmpdir(), 'trips-bench-weekly-'));
const trips = (args: string[]) => {
  const r = spawnSync(process.execPath, [join(root, 'bin/trips.cjs'), ...args], { cwd: root, env: { ...process.env, TRIPS_STATE_DIR: state }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`trips ${args.join(' ')} exited ${r.status}`);
};

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
    for (const line of questionLines(await measureQuestions(wh, runs, runs))) console.log(line);
  } finally {
    await wh.close();
    await pg.stop();
    if (values.state === undefined) rmSync(state, { recursive: true, force: true });
  }
}

void main();
