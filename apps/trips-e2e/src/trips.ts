import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..', '..');

/** Whether a process runs (kill -0). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};
export const SAMPLE = join(ROOT, 'libs/testing/fixtures/sample/trips-sample.csv');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Node script of the workspace (in another checkout: `root`) with `args` and `env`: its exit code, stdout and stderr. */
export function runNode(script: string, args: string[], env: Record<string, string | undefined> = process.env, root = ROOT): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, script), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Runs a task app's bundle (dist/apps/<app>/main.js, as its container does) to its end, with `env` over this process's environment. */
export function runBundle(app: string, args: string[], env: Record<string, string | undefined>): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(ROOT, 'dist/apps', app, 'main.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
}

/** The CLI as a user runs it (`npx trips`: its sources through tsx), and its esbuild bundle, as the scale benchmark's --bundled runs `trips run`. */
export const CLI = 'bin/trips.cjs';
export const CLI_BUNDLE = 'dist/apps/trips-cli/main.js';

/** Runs `npx trips …` (bin/trips.cjs, or `cli`) as a user would, with its own state folder (in another checkout: `root`). */
export function trips(args: string[], stateDir: string, env: Record<string, string> = {}, root = ROOT, cli = CLI): Promise<CliResult> {
  // A query's PostgreSQL is kept for the next query a few seconds only: a test's state folder goes soon.
  return runNode(cli, args, { ...process.env, TRIPS_STATE_DIR: stateDir, TRIPS_QUERY_KEEP_SECONDS: '3', ...env }, root);
}

export async function tripsJson<T>(args: string[], stateDir: string, root = ROOT, cli = CLI): Promise<T> {
  const r = await trips([...args, '--json'], stateDir, {}, root, cli);
  if (r.code !== 0) throw new Error(`trips ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export interface RunJson {
  ds: string;
  status: string;
  tasks: Array<{
    task: string;
    status: string;
    rows: { read: number; passed: number; rejected: number; duplicates: number };
    rejectedByReason: Record<string, number>;
    files: Array<{ file: string; status: string; rows: { read: number; passed: number; rejected: number; duplicates: number }; rejectedByReason: Record<string, number> }>;
    outputs?: Array<{ location: string; rows: number }>;
  }>;
}
