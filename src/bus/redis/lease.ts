import type { Redis } from 'ioredis';

// Renew/release only while we still own the key: a lease that expired and was taken by another
// instance must never be extended or deleted by the old owner.
const RENEW_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * A lease in Redis (`SET key owner NX PX ttl`): at most one instance holds it at a time. The holder
 * renews it every ttl/3; if a renewal finds the key gone or someone else's, or renewals keep failing
 * until the ttl has passed, the lease is lost and `onLost` runs so the holder stops its work.
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;
  /** performance.now() when the last successful SET or renewal was SENT: Redis expires the key no earlier than ttl after it. */
  private renewSentAt = 0;
  private held = false;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly onLost: () => void,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  /**
   * Whether the lease is still ours for sure: held, and its last renewal was sent less than the ttl
   * (minus a tenth for safety) ago. After the process stalled (GC, SIGSTOP, a starved VM) for longer
   * than that, another instance may hold it already: the holder must stop before taking more work,
   * even before its renewal timer had a chance to run. Loses the lease (onLost) when it is not.
   */
  surelyHeld(): boolean {
    if (!this.held) return false;
    if (performance.now() - this.renewSentAt < this.ttlMs * 0.9) return true;
    this.lose();
    return false;
  }

  async tryAcquire(): Promise<boolean> {
    const sentAt = performance.now();
    const ok = await this.redis.set(this.key, this.owner, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return false;
    this.held = true;
    this.renewSentAt = sentAt;
    this.lastRenewed = Date.now();
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
    return true;
  }

  private async renew(): Promise<void> {
    if (!this.held) return;
    const sentAt = performance.now();
    try {
      const ok = await this.redis.eval(RENEW_IF_OWNER, 1, this.key, this.owner, String(this.ttlMs));
      if (ok === 1) {
        this.lastRenewed = Date.now();
        this.renewSentAt = sentAt;
        return;
      }
      this.lose();
    } catch {
      // Redis unreachable: we can't prove we still hold it once the ttl has run out.
      if (Date.now() - this.lastRenewed >= this.ttlMs) this.lose();
    }
  }

  private lose(): void {
    if (!this.held) return;
    this.stopTimer();
    this.held = false;
    this.onLost();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async release(): Promise<void> {
    this.stopTimer();
    if (!this.held) return;
    this.held = false;
    try {
      await this.redis.eval(RELEASE_IF_OWNER, 1, this.key, this.owner);
    } catch {
      // It expires on its own.
    }
  }
}
