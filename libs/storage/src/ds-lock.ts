import { hostname } from 'node:os';
import { BusyError, ExternalError, isProcessAlive, type Logger } from '@trips/core';
import type { ObjectStore } from './object-store';

/** The lock object's content. */
export interface LockState {
  /** The run holding the lock (a `trips run` id, or Airflow's run_id). */
  owner: string;
  /** What holds it now, for the message another run gets. */
  task?: string;
  host: string;
  /** The process working under the lock; absent while a run is between tasks. */
  pid?: number;
  acquiredAt: string;
  /** Held until then unless renewed; a lock past it is free. */
  expiresAt: string;
  released?: boolean;
}

export interface DsLockOptions {
  store: ObjectStore;
  bucket: string;
  key: string;
  /** What the lock protects, for messages (e.g. `ds=2018-05-28`). */
  what: string;
  owner: string;
  task?: string;
  /** How long the lock holds without renewal; renewed every quarter of it while held. */
  leaseMs: number;
  logger?: Logger;
  now?: () => number;
}

/**
 * A lease lock in the object store, made safe by conditional writes (If-None-Match on create,
 * If-Match on every change): of two runs racing for it, exactly one write succeeds. Every task of a
 * run acquires it with the run's id, so the tasks of one run share it and a second run of the same
 * ds is refused (BusyError) until the first releases it or its lease runs out. A lock whose holding
 * process died on this machine is free at once; elsewhere, after its lease.
 */
export class DsLock {
  private timer?: NodeJS.Timeout;
  private lost?: Error;
  /** Joined a lock a live process of this machine drives (a `trips run`): that process hands it over or releases it. */
  private driven = false;

  constructor(private readonly o: DsLockOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Takes the lock for this run, or joins it when the run already holds it; BusyError when another run does. */
  async acquire(): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.read();
      if (current && !this.isFree(current.state) && current.state.owner !== this.o.owner) {
        const s = current.state;
        throw new BusyError(
          `${this.o.what} is locked by run ${s.owner}${s.task ? ` (task ${s.task})` : ''} on ${s.host}${s.pid ? ` (pid ${s.pid})` : ''} since ${s.acquiredAt}, until ${s.expiresAt} unless renewed; ` +
            `a second run of the same day would mix their batches: wait for it to finish and run again (lock object s3://${this.o.bucket}/${this.o.key})`,
        );
      }
      const joined = current && !this.isFree(current.state) && current.state.owner === this.o.owner;
      // A run's lock held by another live process stays with it (the `trips run` driving the tasks).
      const driver = joined && current.state.pid !== process.pid ? current.state.pid : undefined;
      const state: LockState = {
        owner: this.o.owner,
        task: this.o.task,
        host: hostname(),
        pid: driver ?? process.pid,
        acquiredAt: joined ? current.state.acquiredAt : new Date(this.now()).toISOString(),
        expiresAt: new Date(this.now() + this.o.leaseMs).toISOString(),
      };
      const etag = await this.o.store.putIf(this.o.bucket, this.o.key, JSON.stringify(state), current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      if (etag) {
        this.driven = driver !== undefined;
        this.o.logger?.debug({ lock: this.o.key, owner: this.o.owner, joined }, `${joined ? 'joined' : 'took'} the lock of ${this.o.what}`);
        this.heartbeat();
        return;
      }
      // Another writer got in between: look again.
    }
    throw new ExternalError(`could not take the lock of ${this.o.what} (s3://${this.o.bucket}/${this.o.key}): it kept changing under 20 attempts`);
  }

  /** Throws if the lock was lost while held (another run took it after a lease ran out). */
  check(): void {
    if (this.lost) throw this.lost;
  }

  /**
   * Ends this process's hold but keeps the run's lock for the run's next task (Airflow runs each task
   * in its own process): the lease runs on from now, and the run's other tasks join it.
   */
  async handOver(): Promise<void> {
    await this.finish((s) => ({ ...s, pid: undefined, task: undefined, expiresAt: new Date(this.now() + this.o.leaseMs).toISOString() }));
  }

  /** Frees the lock (when this run holds it). */
  async release(): Promise<void> {
    await this.finish((s) => ({ ...s, pid: undefined, task: undefined, released: true, expiresAt: new Date(this.now()).toISOString() }));
  }

  private async finish(change: (s: LockState) => LockState): Promise<void> {
    this.stopHeartbeat();
    if (this.driven) return;
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.read();
      if (!current || current.state.owner !== this.o.owner || current.state.released) return;
      if (await this.o.store.putIf(this.o.bucket, this.o.key, JSON.stringify(change(current.state)), { ifMatch: current.etag })) return;
    }
  }

  private heartbeat(): void {
    this.stopHeartbeat();
    this.timer = setInterval(() => void this.renew(), Math.max(50, this.o.leaseMs / 4));
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Extends the lease; a lock that another run now holds is lost. */
  private async renew(): Promise<void> {
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await this.read();
        if (!current || current.state.owner !== this.o.owner || current.state.released) {
          this.lost = new BusyError(`the lock of ${this.o.what} was lost: ${current ? `run ${current.state.owner} holds it now` : 'it was deleted'} (this run's lease ran out?)`);
          this.stopHeartbeat();
          return;
        }
        const renewed = { ...current.state, expiresAt: new Date(this.now() + this.o.leaseMs).toISOString() };
        if (await this.o.store.putIf(this.o.bucket, this.o.key, JSON.stringify(renewed), { ifMatch: current.etag })) return;
      }
    } catch (e) {
      // A passing store error: the next beat tries again, the lease has room for it.
      this.o.logger?.warn({ err: (e as Error).message }, `could not renew the lock of ${this.o.what}`);
    }
  }

  private isFree(s: LockState): boolean {
    if (s.released) return true;
    if (Date.parse(s.expiresAt) <= this.now()) return true;
    // Held by a process of this machine that no longer runs: killed, so free now rather than at the lease's end.
    return s.pid !== undefined && s.host === hostname() && !isProcessAlive(s.pid);
  }

  private async read(): Promise<{ state: LockState; etag: string } | undefined> {
    const got = await this.o.store.getVersioned(this.o.bucket, this.o.key);
    if (!got) return undefined;
    try {
      return { state: JSON.parse(got.text) as LockState, etag: got.etag };
    } catch {
      // Unreadable: treat as free, replaced only if unchanged.
      return { state: { owner: '', host: '', acquiredAt: '', expiresAt: new Date(0).toISOString(), released: true }, etag: got.etag };
    }
  }
}
