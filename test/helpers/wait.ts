/**
 * Waits for a condition to hold, checking it every few milliseconds: for tests that wait on an
 * outcome (a delivery arrived, a key expired) rather than sleeping for a fixed time. Fails with a
 * message naming what it waited for.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what: string | (() => string); intervalMs?: number },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
  }
}
