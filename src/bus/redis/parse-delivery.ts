import { validateEvent } from '../../core/event.ts';
import { isCursor, type Delivery } from '../types.ts';

/** A delivery read back from Redis (an egress job, a fan-out message), or why it can't be. */
export function parseDelivery(item: unknown): Delivery | string {
  if (typeof item !== 'object' || item === null) return 'not an object';
  const { event, target, cursor } = item as Record<string, unknown>;
  const r = validateEvent(event);
  if (!r.ok) return r.error;
  if (!isCursor(cursor)) return 'bad cursor';
  if (typeof target !== 'object' || target === null) return 'no target';
  const { connector, address } = target as Record<string, unknown>;
  if (typeof connector !== 'string' || typeof address !== 'string') return 'bad target';
  return { event: r.event, target: { connector, address }, cursor };
}
