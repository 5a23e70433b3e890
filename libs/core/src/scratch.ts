import { constants, existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './errors';

/** True when a process of this id runs on this machine. */
export function isProcessAlive(pid: number | undefined): boolean {
  if (pid === undefined || !(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user (e.g. PostgreSQL run as `postgres`).
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const SCRATCH = /^([a-z]+)-(\d+)-[A-Za-z0-9]+$/;

/**
 * A new scratch folder `<workDir>/<what>-<pid>-<random>` for this process. The pid in the name lets
 * any later task remove what a killed one left behind (`removeStaleScratch`), which this does first.
 */
export async function makeScratchDir(workDir: string, what: string): Promise<string> {
  if (!/^[a-z]+$/.test(what)) throw new Error(`scratch folder kind must be lowercase letters, got "${what}"`);
  try {
    await mkdir(workDir, { recursive: true });
    await access(workDir, constants.W_OK);
  } catch (e) {
    throw new ConfigError(`TRIPS_WORK_DIR ${workDir} is not a writable folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): point it at one`);
  }
  await removeStaleScratch(workDir);
  return mkdtemp(join(workDir, `${what}-${process.pid}-`));
}

/**
 * Removes the scratch folders under `workDir` whose process no longer runs on this machine; returns
 * how many. Folders not named by `makeScratchDir` are left alone.
 */
export async function removeStaleScratch(workDir: string): Promise<number> {
  if (!existsSync(workDir)) return 0;
  let removed = 0;
  for (const name of await readdir(workDir)) {
    const m = SCRATCH.exec(name);
    if (!m || isProcessAlive(Number(m[2]))) continue;
    await rm(join(workDir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
