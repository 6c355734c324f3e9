/**
 * Every Redis name the redis driver uses, in one place, all under the deployment's prefix so that
 * several deployments can share one Redis. BullMQ keys are `<prefix>:<queue>:...` (its own
 * `prefix` option is set to the same prefix), our own keys are `<prefix>:<what>:...`.
 */
export interface BusKeys {
  readonly prefix: string;
  readonly ingressQueue: string;
  readonly deadQueue: string;
  egressQueue(connector: string): string;
  stream(room: string): string;
  trimmed(room: string): string;
  seen(eventId: string): string;
  routerLease: string;
  egressLease(connector: string): string;
  /** Set of connectors that ever had an egress queue (for stats). */
  connectors: string;
  /** Pub/sub channel of the cross-instance fan-out of one channel name (see Fanout). */
  fanout(channel: string): string;
  /** Marks an ingress job whose events were appended when it was published (see append-script.ts). */
  routedAtPublish(jobId: string): string;
  /** Sorted set of the instances following the fan-out (score: when their registration expires, ms). */
  fanoutMembers: string;
  /** BullMQ's own key of a job's lock (its worker token while the job is active). */
  jobLock(queue: string, jobId: string): string;
  activeList(queue: string): string;
  /** BullMQ's hash of one job. */
  job(queue: string, jobId: string): string;
  waitList(queue: string): string;
}

export function busKeys(prefix: string): BusKeys {
  return {
    prefix,
    ingressQueue: `${prefix}-ingress`,
    deadQueue: `${prefix}-dead`,
    egressQueue: (connector) => `${prefix}-egress-${connector}`,
    stream: (room) => `${prefix}:stream:${room}`,
    trimmed: (room) => `${prefix}:trimmed:${room}`,
    seen: (eventId) => `${prefix}:seen:${eventId}`,
    routerLease: `${prefix}:lease:router`,
    egressLease: (connector) => `${prefix}:lease:egress:${connector}`,
    connectors: `${prefix}:egress-connectors`,
    fanout: (channel) => `${prefix}:fanout:${channel}`,
    fanoutMembers: `${prefix}:fanout-members`,
    routedAtPublish: (jobId) => `${prefix}:routed-at-publish:${jobId}`,
    jobLock: (queue, jobId) => `${prefix}:${queue}:${jobId}:lock`,
    activeList: (queue) => `${prefix}:${queue}:active`,
    job: (queue, jobId) => `${prefix}:${queue}:${jobId}`,
    waitList: (queue) => `${prefix}:${queue}:wait`,
  };
}
