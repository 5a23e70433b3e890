import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { isProcessAlive as isAlive } from '@trips/core';

/**
 * Stops a child process and waits for it to end. A child that has already ended (stopped, or killed
 * from outside) resolves at once: waiting for an `exit` event that has already fired would leave a
 * promise that never settles, and Node would then exit with code 0 in the middle of a run.
 */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

/** Waits up to `ms` for a process to end; true when it did. */
export async function waitForExit(pid: number, ms = 5000): Promise<boolean> {
  for (let waited = 0; waited < ms && isAlive(pid); waited += 50) await new Promise((r) => setTimeout(r, 50));
  return !isAlive(pid);
}

/**
 * Starts a helper process detached, so that it outlives the caller (`trips local up`), and returns
 * its pid with the JSON it prints on its first line once it listens (its port, credentials…). If it
 * exits first, the error names it (`what`) and carries its stderr. Stop it by its pid.
 */
export async function startDetachedProcess<T>(what: string, command: string, args: string[], opts: Pick<SpawnOptions, 'env'> = {}): Promise<{ pid: number; ready: T }> {
  const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const ready = await new Promise<T>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it listened: ${err.trim()}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => resolve(JSON.parse(line) as T));
  });
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  return { pid: child.pid as number, ready };
}
