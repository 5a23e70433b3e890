import type { ChildProcess } from 'node:child_process';
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
