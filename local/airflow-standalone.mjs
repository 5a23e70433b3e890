// `npm run local:airflow`: the local DAG in a real Airflow to click through. Builds the app bundles,
// starts the standing local stack (`trips local up`), puts the committed sample into its SFTP folder
// (the DAG's ingest_sftp task lands it), and runs `airflow standalone` (web UI on http://localhost:8080,
// login printed by Airflow) with AIRFLOW_HOME in .state/airflow and only the local DAG in its folder.
// Ctrl-C stops Airflow; `npx trips local down` stops the stand-ins.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAirflowVenv } from '../dags/venv.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const trips = (...args) => execFileSync(process.execPath, [join(root, 'bin', 'trips.cjs'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const bin = ensureAirflowVenv();
if (!bin) {
  console.error('local:airflow needs Python 3.10+ on PATH (or PYTHON=/path/to/python3)');
  process.exit(1);
}
execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--projects=tag:scope:task'], { cwd: root, stdio: 'inherit' });
trips('local', 'up');
const env = JSON.parse(trips('local', 'env', '--json'));
// The partner's delivery: the sample in the SFTP folder, for the DAG's ingest_sftp task to land.
const inbox = join(JSON.parse(readFileSync(join(process.env.TRIPS_STATE_DIR ?? join(root, '.state'), 'stack.json'), 'utf8')).sftp.root, 'inbox');
copyFileSync(join(root, 'libs', 'testing', 'fixtures', 'sample', 'trips-sample.csv'), join(inbox, 'trips-sample.csv'));
utimesSync(join(inbox, 'trips-sample.csv'), 1_527_465_600, 1_527_465_600);

const home = join(root, '.state', 'airflow');
const dags = join(home, 'dags');
mkdirSync(dags, { recursive: true });
copyFileSync(join(root, 'dags', 'trips_pipeline_local.py'), join(dags, 'trips_pipeline_local.py'));
console.log(`local:airflow: AIRFLOW_HOME=${home}; trigger trips_pipeline_local with logical date 2018-05-28`);
const airflow = spawn(join(bin, 'airflow'), ['standalone'], {
  stdio: 'inherit',
  env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}`, AIRFLOW_HOME: home, AIRFLOW__CORE__DAGS_FOLDER: dags, AIRFLOW__CORE__LOAD_EXAMPLES: 'False' },
});
airflow.on('exit', (code) => process.exit(code ?? 0));
