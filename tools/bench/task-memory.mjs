#!/usr/bin/env node
// Peak resident memory of every pipeline task on a large generated input, as a ratio against the
// same app's start-up footprint (`--help`) measured in the same run.
//
//   node tools/bench/task-memory.mjs [--rows 1000000] [--keep]
//
// Not a test: it prints figures for people (and the closing notes of issues) to read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { announce } from './budget.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ args: announce('task-memory', process.argv.slice(2)), options: { rows: { type: 'string' }, keep: { type: 'boolean' } } });
const APPS = ['validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift'];
const work = mkdtempSync(join(tmpdir(), 'trips-bench-'));
const rssFile = join(work, 'rss.jsonl');
const env = { ...process.env, TRIPS_STATE_DIR: join(work, 'state'), TRIPS_BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--require ${join(root, 'tools/bench/rss-hook.cjs')}` };
const trips = (args) => {
  const r = spawnSync(process.execPath, [join(root, 'bin/trips.cjs'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`trips ${args.join(' ')} exited ${r.status}`);
  return r.stdout.toString();
};
const peaks = () => (existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
const peakOf = (records, app) => Math.max(0, ...records.filter((r) => r.argv.some((a) => a.includes(`apps/${app}/`))).map((r) => r.maxRssKiB));

try {
  const input = join(work, 'trips.csv');
  console.error(`generating ${values.rows} rows…`);
  trips(['generate', '--out', input, '--rows', values.rows, '--seed', '1', '--bad-ratio', '0.01', '--duplicate-ratio', '0.01']);
  const inputMiB = Number(spawnSync('stat', ['-c', '%s', input]).stdout) / 2 ** 20;

  // Baseline: each app's process with nothing to do, same runtime, same loader.
  const tsx = join(root, 'node_modules/tsx/dist/loader.mjs');
  for (const app of APPS) spawnSync(process.execPath, ['--import', tsx, join(root, 'apps', app, 'src/main.ts'), '--help'], { cwd: root, env, stdio: 'ignore' });
  const baseline = Object.fromEntries(APPS.map((a) => [a, peakOf(peaks(), a)]));
  rmSync(rssFile);

  console.error('running the pipeline…');
  const t0 = Date.now();
  const run = JSON.parse(trips(['run', '--input', input, '--ds', '2018-05-28', '--json']));
  const seconds = (Date.now() - t0) / 1000;
  const records = peaks();
  console.log(`input: ${values.rows} rows, ${inputMiB.toFixed(0)} MiB; pipeline ${run.status} in ${seconds.toFixed(0)} s`);
  console.log('task               peak RSS MiB  baseline MiB  ratio  rows read');
  for (const app of APPS) {
    const peak = peakOf(records, app) / 1024;
    const base = baseline[app] / 1024;
    const rows = run.tasks.find((t) => t.app === app)?.rows?.read ?? '-';
    console.log(`${app.padEnd(18)} ${peak.toFixed(0).padStart(12)}  ${base.toFixed(0).padStart(12)}  ${(peak / base).toFixed(1).padStart(5)}  ${rows}`);
  }
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else console.error(`kept ${work}`);
}
