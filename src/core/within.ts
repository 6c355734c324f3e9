/**
 * Resolves after `ms`, or when `work` settles first: `true` when the work settled in time (its
 * outcome either way; a rejection counts as settled). The timer is cleared either way, so a
 * bounded wait never keeps the process alive.
 */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, ms)); });
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `work`'s value, or undefined when it has not settled after `ms` (a rejection in time rejects):
 * for a read that must not hold up its caller (a stalled store). The timer is cleared either way.
 */
export async function valueWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), Math.max(0, ms)); });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
