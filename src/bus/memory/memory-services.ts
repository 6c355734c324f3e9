import type { EventId } from '../../core/ids.ts';
import { endpointKey, type Endpoint } from '../../core/endpoint.ts';
import type { IdMap, LeaseCallbacks, LeaseHandle, Transaction } from '../types.ts';
import { BoundedMap } from '../services/bounded-map.ts';
import type { TransactionClaim, TransactionLog } from '../services/publish-once.ts';

/** Transactions per room, bounded like the redis driver's (see docs/bus.md, "Transactions"). */
export class MemoryTransactionLog implements TransactionLog {
  private readonly rooms = new Map<string, BoundedMap<string, TransactionClaim>>();

  constructor(private readonly perRoom: number, private readonly windowMs: number) {}

  async claim(room: string, transaction: Transaction, first: TransactionClaim): Promise<TransactionClaim | undefined> {
    let claims = this.rooms.get(room);
    if (!claims) {
      claims = new BoundedMap(this.perRoom, this.windowMs);
      this.rooms.set(room, claims);
    }
    const key = `${transaction.scope}\u0000${transaction.id}`;
    const earlier = claims.get(key);
    if (earlier) return earlier;
    claims.set(key, first);
    return undefined;
  }
}

/** The id map in one process, bounded per endpoint like the redis driver's. */
export class MemoryIdMap implements IdMap {
  private readonly endpoints = new Map<string, { toNative: BoundedMap<EventId, string>; toCanonical: Map<string, EventId> }>();

  constructor(private readonly perEndpoint: number) {}

  private of(endpoint: Endpoint) {
    const key = endpointKey(endpoint);
    let maps = this.endpoints.get(key);
    if (!maps) {
      maps = { toNative: new BoundedMap(this.perEndpoint), toCanonical: new Map() };
      this.endpoints.set(key, maps);
    }
    return maps;
  }

  async link(id: EventId, endpoint: Endpoint, nativeId: string): Promise<void> {
    const maps = this.of(endpoint);
    const previous = maps.toNative.get(id);
    if (previous !== undefined && maps.toCanonical.get(previous) === id) maps.toCanonical.delete(previous);
    for (const [oldId, oldNative] of maps.toNative.set(id, nativeId)) {
      if (maps.toCanonical.get(oldNative) === oldId) maps.toCanonical.delete(oldNative);
    }
    maps.toCanonical.set(nativeId, id);
  }

  async nativeOf(id: EventId, endpoint: Endpoint): Promise<string | undefined> {
    return this.endpoints.get(endpointKey(endpoint))?.toNative.get(id);
  }

  async canonicalOf(endpoint: Endpoint, nativeId: string): Promise<EventId | undefined> {
    return this.endpoints.get(endpointKey(endpoint))?.toCanonical.get(nativeId);
  }
}

/** One process: every lease is this process's at once. */
export function memoryLease(callbacks: LeaseCallbacks): LeaseHandle {
  let held = false;
  let closed = false;
  queueMicrotask(() => {
    if (closed) return;
    held = true;
    callbacks.onAcquired();
  });
  return {
    get held() { return held; },
    close: async () => {
      if (closed) return;
      closed = true;
      if (held) {
        held = false;
        callbacks.onLost();
      }
    },
  };
}
