import { ExternalError } from './errors';
import type { Logger } from './logger';

/**
 * Calls `fn` until it succeeds, again after errors `retryable` accepts, waiting 200 ms doubling up to
 * 10 s between attempts, at most `attempts` times; any other error, or the last, is thrown as is.
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  o: { attempts: number; retryable: (e: unknown) => boolean; sleep: (ms: number) => Promise<void>; onRetry?: (attempt: number, delayMs: number, e: unknown) => void },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!o.retryable(e) || attempt >= o.attempts) throw e;
      const delay = Math.min(200 * 2 ** (attempt - 1), 10_000);
      o.onRetry?.(attempt, delay, e);
      await o.sleep(delay);
    }
  }
}

/** How an adapter waits on an asynchronous AWS statement (Athena query, Redshift Data API statement). */
export interface PollingOptions {
  /** First and longest wait between status polls (doubling in between). */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** A statement still running after this long is stopped and the task fails (the adapters' settings give it). */
  timeoutMs: number;
  /** Attempts of an API call that is throttled or fails transiently. */
  maxAttempts?: number;
  /** Aborted when the task is interrupted (SIGTERM from ECS or Airflow): the running statement is stopped. */
  signal?: AbortSignal;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** The defaults of PollingOptions, declared once. */
export const POLLING_DEFAULTS = { pollInitialMs: 500, pollMaxMs: 5000, maxAttempts: 6 } as const;

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Options of a caller, its defaults filled in. */
export function resolvePolling(o: PollingOptions): Required<Omit<PollingOptions, 'signal'>> & { signal?: AbortSignal } {
  return {
    pollInitialMs: o.pollInitialMs ?? POLLING_DEFAULTS.pollInitialMs,
    pollMaxMs: o.pollMaxMs ?? POLLING_DEFAULTS.pollMaxMs,
    maxAttempts: o.maxAttempts ?? POLLING_DEFAULTS.maxAttempts,
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    sleep: o.sleep ?? realSleep,
    now: o.now ?? Date.now,
  };
}

/**
 * Waits for an asynchronous statement: calls `check` until it returns a result, with waits doubling
 * from pollInitialMs to pollMaxMs. When the task is interrupted (`signal`) or the statement
 * outlives `timeoutMs`, calls `stop` (to cancel the statement) and throws what it returns.
 */
export async function pollStatement<T>(
  o: ReturnType<typeof resolvePolling>,
  check: () => Promise<T | undefined>,
  stop: (why: 'interrupted' | 'timeout') => Promise<Error>,
): Promise<T> {
  const deadline = o.now() + o.timeoutMs;
  let wait = o.pollInitialMs;
  for (;;) {
    if (o.signal?.aborted) throw await stop('interrupted');
    const done = await check();
    if (done !== undefined) return done;
    if (o.now() >= deadline) throw await stop('timeout');
    await o.sleep(wait);
    wait = Math.min(wait * 2, o.pollMaxMs);
  }
}

/**
 * One call of an AWS API an adapter makes (not the statement it starts): retried with capped
 * backoff on the errors `transient` accepts, the SDK client's own retries being off; any failure
 * is thrown as an ExternalError naming the API and the call.
 */
export async function callAws<T>(
  api: string,
  call: string,
  fn: () => Promise<T>,
  o: { polling: Pick<ReturnType<typeof resolvePolling>, 'maxAttempts' | 'sleep'>; transient: (e: unknown) => boolean; logger?: Logger },
): Promise<T> {
  try {
    return await withRetries(fn, {
      attempts: o.polling.maxAttempts,
      retryable: o.transient,
      sleep: o.polling.sleep,
      onRetry: (attempt, delay, e) => o.logger?.warn({ attempt, delay, err: (e as Error).name }, `${api}: ${call} throttled or failed transiently; retrying`),
    });
  } catch (e) {
    if (e instanceof ExternalError) throw e;
    throw new ExternalError(`${api} ${call} failed: ${(e as Error).message}`, { cause: e });
  }
}
