/**
 * Every Redis name of our own that the redis driver uses, in one place, all under the deployment's
 * prefix so that several deployments can share one Redis: `<prefix>:<what>:...`. BullMQ's keys
 * (`<prefix>:<queue>:...`, its `prefix` option set to the same prefix) are its own business; the
 * few places that name them are in bullmq-adapter.ts.
 */
export interface BusKeys {
  readonly prefix: string;
  readonly ingressQueue: string;
  egressQueue(connector: string): string;
  stream(room: string): string;
  trimmed(room: string): string;
  /** Hash: event id -> "<cursor>|<ingress job id>", the dedupe marks of a room's newest events (append-script.ts). */
  marks(room: string): string;
  /** List: the ids in `marks`, oldest first, so the oldest can be forgotten. */
  marksOrder(room: string): string;
  /** Stream of dead letters, capped (retention.ts). */
  readonly dead: string;
  readonly routerLease: string;
  egressLease(connector: string): string;
  /** Set of connectors that ever had an egress queue (for stats). */
  readonly connectors: string;
  /** Pub/sub channel of the cross-instance fan-out of one channel name (see Fanout). */
  fanout(channel: string): string;
  /** Pub/sub channel of the notes between instances of one channel name (see Notes). */
  notes(channel: string): string;
  /** Sorted set of the instances following the fan-out (score: when their registration expires, ms). */
  readonly fanoutMembers: string;
  /** Sorted set of the newest ingress jobs appended when they were published (score: when, ms; append-script.ts). */
  readonly routedAtPublish: string;
}

export function busKeys(prefix: string): BusKeys {
  return {
    prefix,
    ingressQueue: `${prefix}-ingress`,
    egressQueue: (connector) => `${prefix}-egress-${connector}`,
    stream: (room) => `${prefix}:stream:${room}`,
    trimmed: (room) => `${prefix}:trimmed:${room}`,
    marks: (room) => `${prefix}:marks:${room}`,
    marksOrder: (room) => `${prefix}:marks-order:${room}`,
    dead: `${prefix}:dead`,
    routerLease: `${prefix}:lease:router`,
    egressLease: (connector) => `${prefix}:lease:egress:${connector}`,
    connectors: `${prefix}:egress-connectors`,
    fanout: (channel) => `${prefix}:fanout:${channel}`,
    fanoutMembers: `${prefix}:fanout-members`,
    notes: (channel) => `${prefix}:notes:${channel}`,
    routedAtPublish: `${prefix}:routed-at-publish`,
  };
}
