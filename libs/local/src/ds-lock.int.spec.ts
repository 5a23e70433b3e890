import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { BusyError } from '@trips/core';
import { DsLock, type LockState, type ObjectStore } from '@trips/storage';
import { localStores } from './local-stores';

const KEY = 'locks/ds=2018-05-28.json';

/** The lock on both local object stores: the S3 server's conditional writes, and the file store's. */
describe.each(localStores('lake'))('DsLock on %s (conditional writes)', (_name, open) => {
  let close: () => Promise<void>;
  let store: ObjectStore;
  beforeAll(async () => {
    ({ store, close } = await open());
  });
  afterAll(() => close());
  afterEach(() => store.delete('lake', KEY));

  const lock = (owner: string, leaseMs = 60_000, now?: () => number) => new DsLock({ store, bucket: 'lake', key: KEY, what: 'ds=2018-05-28', owner, task: 'clean_stage', leaseMs, now });

  it('lets exactly one of many racing runs take the lock; the others are refused naming the holder', async () => {
    const runs = Array.from({ length: 8 }, (_, i) => lock(`run-${i}`));
    const outcomes = await Promise.allSettled(runs.map((l) => l.acquire()));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(BusyError);
      expect((r.reason as Error).message).toMatch(/ds=2018-05-28 is locked by run run-\d \(task clean_stage\)/);
    }
    await Promise.all(runs.map((l) => l.release()));
  });

  it('lets the tasks of the holding run join it, and frees it for the next run once released', async () => {
    const first = lock('run-a');
    await first.acquire();
    await lock('run-a').acquire();
    await expect(lock('run-b').acquire()).rejects.toThrow(BusyError);
    await first.release();
    await lock('run-b').acquire();
  });

  it('keeps the lock for the run between its tasks (hand-over), refusing other runs until the lease ends', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const now = () => t;
    const task1 = lock('run-a', 600_000, now);
    await task1.acquire();
    await task1.handOver();
    const state = JSON.parse((await store.getVersioned('lake', KEY))!.text) as LockState;
    expect(state.pid).toBeUndefined();
    await expect(lock('run-b', 600_000, now).acquire()).rejects.toThrow(BusyError);
    await lock('run-a', 600_000, now).acquire();
    t += 601_000;
    await lock('run-b', 600_000, now).acquire();
  });

  it('frees at once a lock whose holding process on this machine is dead', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const state: LockState = { owner: 'killed-run', host: hostname(), pid: Number(dead.stdout), acquiredAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    await store.putJson('lake', KEY, state);
    await lock('run-b').acquire();
    expect(JSON.parse((await store.getVersioned('lake', KEY))!.text).owner).toBe('run-b');
  });

  it('renews its lease while held, and notices when another run took the lock after the lease ran out', async () => {
    const held = lock('run-a', 400);
    await held.acquire();
    const before = JSON.parse((await store.getVersioned('lake', KEY))!.text) as LockState;
    await new Promise((r) => setTimeout(r, 700));
    const after = JSON.parse((await store.getVersioned('lake', KEY))!.text) as LockState;
    expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.parse(before.expiresAt));
    held.check();
    // Another run overwrites it (as if this run's lease had run out).
    await store.putJson('lake', KEY, { ...after, owner: 'run-b' });
    await new Promise((r) => setTimeout(r, 300));
    expect(() => held.check()).toThrow(/lock of ds=2018-05-28 was lost: run run-b holds it now/);
    await held.release();
    expect(JSON.parse((await store.getVersioned('lake', KEY))!.text).owner).toBe('run-b');
  });
});
