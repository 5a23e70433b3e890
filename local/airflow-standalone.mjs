// `npm run local:airflow`: the local DAG in a real Airflow to click through (docs/airflow.md, "The
// walkthrough"). Builds the app bundles when their sources changed, starts the standing local stack
// (`trips local up`), delivers the committed sample to its SFTP folder (the DAG's ingest_sftp task
// lands it), and runs Airflow's API server (the UI), scheduler and DAG processor with
// AIRFLOW_HOME=<state>/airflow, only the local DAG in its folder, printing the DAG's notices as the
// stack's receiver gets them. The UI listens on 127.0.0.1 only, on TRIPS_AIRFLOW_PORT (default 8080, or a free port when
// 8080 is taken); no log server is started (the UI reads the task logs from AIRFLOW_HOME/logs).
// Ctrl-C stops Airflow; `npx trips local down` stops the stand-ins.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAirflowVenv } from '../dags/venv.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const say = (line) => console.log(`local:airflow: ${line}`);
const fail = (line) => {
  console.error(`local:airflow: ${line}`);
  process.exit(1);
};
const trips = (...args) => execFileSync(process.execPath, [join(root, 'bin', 'trips.cjs'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const stateDir = resolve(process.env.TRIPS_STATE_DIR ?? join(root, '.state'));
const home = join(stateDir, 'airflow');
const DAG_ID = 'trips_pipeline_local';

/** True when the port can be bound on 127.0.0.1. */
const portFree = (port) =>
  new Promise((done) => {
    const s = createNetServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
const freePort = () =>
  new Promise((done) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });

async function chooseApiPort() {
  const asked = process.env.TRIPS_AIRFLOW_PORT;
  if (asked !== undefined) {
    const port = Number(asked);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`TRIPS_AIRFLOW_PORT must be a port number, got "${asked}"`);
    if (!(await portFree(port))) fail(`port ${port} (TRIPS_AIRFLOW_PORT) is in use on 127.0.0.1: choose another, or stop what listens there`);
    return port;
  }
  if (await portFree(8080)) return 8080;
  const port = await freePort();
  say(`port 8080 is in use; the UI takes port ${port} instead (set TRIPS_AIRFLOW_PORT to choose)`);
  return port;
}

/** The newest modification time under a folder (sources of the bundles). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function buildBundles() {
  const definition = JSON.parse(readFileSync(join(root, 'dags', 'trips_pipeline.definition.json'), 'utf8'));
  const apps = [...new Set(definition.tasks.map((t) => t.app))];
  const sources = Math.max(newest(join(root, 'libs')), ...apps.map((a) => newest(join(root, 'apps', a))));
  const stale = apps.filter((a) => {
    const bundle = join(root, 'dist', 'apps', a, 'main.js');
    return !existsSync(bundle) || statSync(bundle).mtimeMs < sources;
  });
  if (stale.length === 0) return say('the app bundles are up to date');
  say(`building the app bundles (${stale.join(', ')} changed)`);
  execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--projects=tag:scope:task'], { cwd: root, stdio: 'inherit' });
}

/** Prints each notice the stack's receiver keeps (<state>/notices.jsonl) as one line, as it comes. */
function followNotices(file) {
  let offset = existsSync(file) ? statSync(file).size : 0;
  const timer = setInterval(() => {
    if (!existsSync(file) || statSync(file).size <= offset) return;
    const text = readFileSync(file, 'utf8').slice(offset);
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    offset += Buffer.byteLength(complete);
    for (const line of complete.split('\n').filter(Boolean)) {
      try {
        const n = JSON.parse(line);
        say(`notice: ${n.task} ${n.state} (ds ${n.ds}, try ${n.try_number})${n.error ? `: ${String(n.error).split('\n')[0]}` : ''}`);
      } catch {
        say(`notice (not JSON): ${line.slice(0, 200)}`);
      }
    }
  }, 1000);
  timer.unref();
  return timer;
}

// One local Airflow per state folder: its processes are recorded for `trips local down` and `trips status`.
const recordFile = join(home, 'airflow.json');
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
if (existsSync(recordFile)) {
  const running = JSON.parse(readFileSync(recordFile, 'utf8'));
  if (running.pids.some(alive)) fail(`Airflow already runs on this state folder at ${running.url} (pids ${running.pids.join(', ')}); stop it with Ctrl-C where it runs, or npx trips local down`);
}

const bin = ensureAirflowVenv();
if (!bin) fail('needs Python 3.10+ on PATH (or PYTHON=/path/to/python3)');
const apiPort = await chooseApiPort();
buildBundles();
trips('local', 'up');
const env = JSON.parse(trips('local', 'env', '--json'));

// The partner's delivery: the sample in the SFTP folder, for the DAG's ingest_sftp task to land.
const inbox = join(JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')).sftp.root, 'inbox');
const delivered = join(inbox, 'trips-sample.csv');
copyFileSync(join(root, 'libs', 'testing', 'fixtures', 'sample', 'trips-sample.csv'), delivered);
utimesSync(delivered, 1_527_465_600, 1_527_465_600);

const dags = join(home, 'dags');
const logs = join(home, 'logs');
mkdirSync(dags, { recursive: true });
mkdirSync(logs, { recursive: true });
copyFileSync(join(root, 'dags', 'trips_pipeline_local.py'), join(dags, 'trips_pipeline_local.py'));
const notices = join(stateDir, 'notices.jsonl');
if (!env.AIRFLOW_CONN_TRIPS_WEBHOOK) fail('the local stack has no notice receiver (it was started by an older version): npx trips local down, then again');
const follower = followNotices(notices);
const url = `http://127.0.0.1:${apiPort}`;
const airflowEnv = {
  ...process.env,
  ...env,
  PATH: `${bin}:${process.env.PATH}`,
  AIRFLOW_HOME: home,
  AIRFLOW__CORE__DAGS_FOLDER: dags,
  AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
  AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
  // One run at a time (max_active_runs 1) of tasks in a chain: a few workers, not Airflow's 32.
  AIRFLOW__CORE__PARALLELISM: '4',
  AIRFLOW__API__HOST: '127.0.0.1',
  AIRFLOW__API__PORT: String(apiPort),
  AIRFLOW__API__BASE_URL: url,
  AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${url}/execution/`,
};

// Another shell gets this Airflow's settings (and the apps' environment) from one file.
const envFile = join(home, 'env.sh');
const quote = (v) => `'${String(v).replace(/'/g, `'"'"'`)}'`;
writeFileSync(
  envFile,
  `# . ${relative(root, envFile)}: the airflow command of \`npm run local:airflow\` (written at each start)\n` +
    Object.entries(airflowEnv)
      .filter(([k]) => k.startsWith('AIRFLOW') || k.startsWith('TRIPS_') || k.startsWith('AWS_') || k === 'PATH')
      .map(([k, v]) => `export ${k}=${k === 'PATH' ? `${quote(bin)}:"$PATH"` : quote(v)}\n`)
      .join(''),
  { mode: 0o600 },
);
say(`AIRFLOW_HOME=${relative(process.cwd(), home) || home}; preparing Airflow's database`);
execFileSync(join(bin, 'airflow'), ['db', 'migrate'], { env: airflowEnv, stdio: ['ignore', openSync(join(logs, 'db-migrate.log'), 'w'), openSync(join(logs, 'db-migrate.log'), 'a')] });

const components = {
  'api-server': ['api-server', '--host', '127.0.0.1', '--port', String(apiPort)],
  scheduler: ['scheduler', '--skip-serve-logs'],
  'dag-processor': ['dag-processor'],
};
let stopping = false;
const children = Object.entries(components).map(([name, args]) => {
  const log = join(logs, `${name}.log`);
  const out = openSync(log, 'a');
  // Each in a process group of its own, stopped as a group: the scheduler's executor workers with it.
  const child = spawn(join(bin, 'airflow'), args, { env: airflowEnv, stdio: ['ignore', out, out], detached: true });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n    ');
    console.error(`local:airflow: Airflow's ${name} stopped (${signal ?? `exit code ${code}`}); the end of ${relative(process.cwd(), log)}:\n    ${tail}`);
    shutdown(1);
  });
  return child;
});

const signalGroup = (child, signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping Airflow');
  for (const c of children) signalGroup(c, 'SIGTERM');
  clearInterval(follower);
  // What has not stopped after 20 s is killed, with its workers.
  setTimeout(() => {
    for (const c of children) signalGroup(c, 'SIGKILL');
    process.exit(code);
  }, 20_000).unref();
  Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined))).then(() => {
    for (const c of children) signalGroup(c, 'SIGKILL'); // workers left behind by a stopped parent
    process.exit(code);
  });
}
writeFileSync(recordFile, `${JSON.stringify({ url, pids: children.map((c) => c.pid), supervisor: process.pid, startedAt: new Date().toISOString() })}\n`);
process.on('exit', () => rmSync(recordFile, { force: true }));
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

// Ready when the API answers, the scheduler and DAG processor report healthy and the DAG is parsed.
const passwordsFile = join(home, 'simple_auth_manager_passwords.json.generated');
const deadline = Date.now() + 180_000;
let token;
for (;;) {
  if (stopping) await new Promise(() => undefined);
  if (Date.now() > deadline) {
    console.error(`local:airflow: Airflow did not become ready within 3 minutes; see ${relative(process.cwd(), logs)}/*.log`);
    shutdown(1);
    await new Promise(() => undefined);
  }
  await new Promise((r) => setTimeout(r, 1000));
  try {
    const health = await (await fetch(`${url}/api/v2/monitor/health`)).json();
    if (health.scheduler?.status !== 'healthy' || health.dag_processor?.status !== 'healthy' || !existsSync(passwordsFile)) continue;
    const password = JSON.parse(readFileSync(passwordsFile, 'utf8')).admin;
    token ??= (await (await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) })).json()).access_token;
    const dag = await fetch(`${url}/api/v2/dags/${DAG_ID}`, { headers: { authorization: `Bearer ${token}` } });
    if (!dag.ok) continue;
    say(`Airflow is ready: ${url} (user admin, password ${password})`);
    say(`the sample waits in ${relative(process.cwd(), inbox)}: unpause ${DAG_ID} and its run for today lands and loads it`);
    say(`notices go to ${relative(process.cwd(), notices)}; Airflow's own logs are in ${relative(process.cwd(), logs)}`);
    say(`the airflow command in another shell: . ${relative(process.cwd(), envFile)} (AIRFLOW_HOME, PATH to ${relative(process.cwd(), join(bin, 'airflow'))}, the apps' environment); Ctrl-C here stops Airflow`);
    break;
  } catch {
    // not up yet
  }
}
