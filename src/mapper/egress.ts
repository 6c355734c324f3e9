import type { Capabilities } from '../core/capabilities.ts';
import type { Bus, DeliveryHandler, EgressOptions, Stoppable } from '../bus/types.ts';
import type { Mapper } from './mapper.ts';

/**
 * The bus as one connector sees it with the mapper in the path: everything is the bus itself,
 * except `consumeEgress`, which puts the connector's TargetMapper in front of its handler. The
 * connector stays unaware: it consumes its deliveries as before and gets them already rewritten
 * for its capabilities (with hints, see types.ts). Order and retries are the bus's: the wrapped
 * handler is called once per batch, in order, and fails when the connector's handler fails.
 *
 * A Proxy rather than a hand-written delegate so that members the bus gains later pass through
 * untouched; methods are bound to the bus, so the driver's `this` is always the driver.
 */
export function busWithMapper(bus: Bus, mapper: Mapper, network: string, capabilities: Capabilities): Bus {
  const target = mapper.target(network, capabilities);
  const consumeEgress = (connector: string, handler: DeliveryHandler, options?: EgressOptions): Stoppable => {
    const consumer = bus.consumeEgress(connector, target.wrap(handler), options);
    let closing: Promise<void> | undefined;
    return {
      // The bus finishes the batch in hand first; then what the coalescer holds is handed over once.
      close: () => (closing ??= consumer.close().then(() => target.close())),
    };
  };
  const bound = new Map<PropertyKey, { readonly of: unknown; readonly fn: unknown }>();
  return new Proxy(bus, {
    get(real, property) {
      if (property === 'consumeEgress') return consumeEgress;
      const value: unknown = Reflect.get(real, property, real);
      if (typeof value !== 'function') return value;
      // Bound once per method (connectors call publish per message), again only if the bus replaced it.
      const known = bound.get(property);
      if (known?.of === value) return known.fn;
      const fn = (value as (...args: unknown[]) => unknown).bind(real);
      bound.set(property, { of: value, fn });
      return fn;
    },
  });
}
