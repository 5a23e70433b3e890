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
  /** A statement still running after this long is stopped and the task fails. */
  timeoutMs?: number;
  /** Attempts of an API call that is throttled or fails transiently. */
  maxAttempts?: number;
  /** Aborted when the task is interrupted (SIGTERM from ECS or Airflow): the running statement is stopped. */
  signal?: AbortSignal;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}
