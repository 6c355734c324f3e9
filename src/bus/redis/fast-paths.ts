/**
 * The redis driver's shortcuts around its plain path (ingress job -> router -> stream -> egress job
 * -> consumer -> fan-out). Each one only saves work: order, dedupe, retries and durability are the
 * plain path's, and the bus contract suite runs with all of them off and all of them on. Each is
 * kept only while `npm run bench -- --fast-paths` shows a gain beyond the bench's noise
 * (docs/bus.md, "Fast paths"; figures in bench/RESULTS.md).
 */
export interface FastPaths {
  /**
   * The router calls an idle local egress consumer's handler itself (when that consumer asked for
   * it with `direct: true`) instead of adding an egress job it would fetch at once.
   */
  readonly directDelivery: boolean;
  /**
   * The process that holds the router lease appends its own publishes right behind their ingress
   * job when no unrouted job is waiting, instead of waking its router to fetch them.
   */
  readonly routeAtPublish: boolean;
  /** Fan-out publishes are skipped while the routing instance's last append found no other follower. */
  readonly skipLonelyFanout: boolean;
  /** The commands one tick issues on the command connection go out in one socket write (corked-writes.ts). */
  readonly corkWrites: boolean;
  /** The transaction claims of one tick (publishOnce) go to Redis as one script call (claim-batcher.ts). */
  readonly batchClaims: boolean;
  // Measured and removed (gain within the bench's noise; bench/RESULTS.md, 2026-12-03): completing a
  // batch and fetching the next job in one call (BullMQ's fetchNext, through a protected method), and
  // the router reusing the events its process validated at publish instead of validating them again.
}

export const ALL_FAST_PATHS_ON: FastPaths = {
  directDelivery: true,
  routeAtPublish: true,
  skipLonelyFanout: true,
  corkWrites: true,
  batchClaims: true,
};

export const ALL_FAST_PATHS_OFF: FastPaths = {
  directDelivery: false,
  routeAtPublish: false,
  skipLonelyFanout: false,
  corkWrites: false,
  batchClaims: false,
};

export const FAST_PATH_NAMES = Object.keys(ALL_FAST_PATHS_ON) as (keyof FastPaths)[];

/** The fast paths an options object asks for: every one not named is on. */
export function fastPaths(asked: Partial<FastPaths> | undefined): FastPaths {
  return { ...ALL_FAST_PATHS_ON, ...asked };
}
