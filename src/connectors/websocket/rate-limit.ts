/**
 * Token bucket: `burst` frames at once, refilled at `perSecond`. One per connection, so one noisy
 * client cannot starve the others or the bus.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perSecond: number, private readonly burst: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = burst;
    this.last = now();
  }

  /**
   * Takes one token if there is one: 'taken', 'taken-full' when the bucket was full before (the
   * sender had paused long enough to earn a whole burst back), or 'empty'.
   */
  take(): 'taken' | 'taken-full' | 'empty' {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens < 1) return 'empty';
    const full = this.tokens >= this.burst;
    this.tokens -= 1;
    return full ? 'taken-full' : 'taken';
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    return this.take() !== 'empty';
  }
}
