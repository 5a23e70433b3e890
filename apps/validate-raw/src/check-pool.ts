import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CheckedRows, RowBatch } from './row-checks';

/** A variable, so that esbuild leaves it alone: the bundle runs check-worker.js and never needs tsx. */
const TSX_REQUIRE_HOOK = 'tsx/cjs';

interface Waiting {
  resolve: (rows: CheckedRows) => void;
  reject: (e: Error) => void;
}

/**
 * Worker threads that check batches of rows (row-checks.ts, checkBatch), so that validate-raw's
 * checks use every core while its main thread reads, decodes and cuts the file and writes what they
 * return. Each worker runs check-worker: beside this module in the app's bundle (check-worker.js,
 * an entry point of its own), or its TypeScript source through tsx when the app runs from its
 * sources.
 */
export class CheckPool {
  private readonly waiting = new Map<number, Waiting>();
  private seq = 0;
  private failure?: Error;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on('message', (m: { id: number; rows: CheckedRows }) => {
        const waiting = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        waiting?.resolve(m.rows);
      });
      w.on('error', (e) => this.fail(new Error(`validate-raw: a worker thread checking rows failed: ${e.message}`, { cause: e })));
      w.on('exit', (code) => {
        if (this.waiting.size > 0) this.fail(new Error(`validate-raw: a worker thread checking rows exited (code ${code}) with batches unchecked`));
      });
    }
  }

  /** A pool of `size` workers (by default one per core). */
  static start(size = availableParallelism()): CheckPool {
    const bundled = join(__dirname, 'check-worker.js');
    const workers = Array.from({ length: Math.max(1, size) }, () => {
      if (existsSync(bundled)) return new Worker(bundled);
      // From the sources, through tsx's require hook: its ESM loader, which runs the app itself
      // (`--import`), does not load a worker thread's TypeScript on Node 20.
      return new Worker(join(__dirname, 'check-worker.ts'), { execArgv: ['--require', require.resolve(TSX_REQUIRE_HOOK)] });
    });
    return new CheckPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Checks a batch on the next worker, in turn. */
  check(batch: RowBatch): Promise<CheckedRows> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.seq;
    return new Promise<CheckedRows>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.workers.length].postMessage({ id, batch });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }
}
