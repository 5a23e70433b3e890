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
