/**
 * The one polling helper of the test suite: waits until `predicate` holds (it may be async), checking
 * every `intervalMs`, and fails after `timeoutMs` with a message naming what it waited for. Tests
 * wait for the event itself with it, never for a guessed amount of time.
 */
export interface WaitOptions {
  readonly timeoutMs?: number;
  /** What is awaited, for the failure message: "the dead letter", "all 500 deliveries". May be computed at failure time. */
  readonly what: string | (() => string);
  readonly intervalMs?: number;
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, { timeoutMs = 15_000, what, intervalMs = 10 }: WaitOptions): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `p`, or a failure naming `what` after `ms`: a stock call that hangs fails its test, saying where, instead of the run. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms (hung)`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
