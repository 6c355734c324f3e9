import type { Element } from '@xmpp/xml';
import { silentLogger } from '../../src/core/logger.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { ComponentLink, type ComponentLinkOptions, type LinkStatus } from '../../src/connectors/xmpp/component-link.ts';
import type { ProsodyServer } from '../helpers/prosody.ts';

export interface TestLink {
  link: ComponentLink;
  registry: Registry;
  /** Every inbound stanza handed to the handler, in order. */
  received: Element[];
  /** Every status the link went through, in order. */
  statuses: LinkStatus[];
  waitForStanza(pred: (el: Element) => boolean, what: string, timeoutMs?: number): Promise<Element>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * A ComponentLink to the test Prosody's component port, recording what it receives and its
 * statuses; `also` sees every inbound stanza too (to answer iqs, say).
 */
export function makeLink(prosody: ProsodyServer, overrides: Partial<Omit<ComponentLinkOptions, 'onStanza'>> = {}, also?: (el: Element, link: ComponentLink) => void): TestLink {
  const registry = createRegistry(false);
  const received: Element[] = [];
  const statuses: LinkStatus[] = [];
  const waiters = new Set<(el: Element) => void>();
  const link = new ComponentLink({
    host: '127.0.0.1', port: prosody.componentPort, domain: prosody.componentDomain, secret: prosody.componentSecret,
    backoff: { initialMs: 50, maxMs: 500 },
    logger: silentLogger, registry,
    ...overrides,
    onStanza: (el) => { received.push(el); for (const w of waiters) w(el); also?.(el, link); },
  });
  link.on('status', (s) => statuses.push(s));
  return {
    link, registry, received, statuses,
    waitForStanza(pred, what, timeoutMs = 10_000) {
      const found = received.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = (el: Element): void => {
          if (!pred(el)) return;
          waiters.delete(w);
          clearTimeout(timer);
          resolve(el);
        };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`component: timed out waiting for ${what}`)); }, timeoutMs);
        waiters.add(w);
      });
    },
    async metric(name, labels = {}) {
      const m = registry.getSingleMetric(name);
      if (!m) return 0;
      const { values } = await m.get();
      return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);
    },
  };
}

/** Resolves when the link reaches the status (rejects after timeoutMs with the statuses seen). */
export function waitStatus(t: TestLink, status: LinkStatus, timeoutMs = 15_000): Promise<void> {
  if (t.link.status === status) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const on = (s: LinkStatus): void => {
      if (s !== status) return;
      clearTimeout(timer);
      t.link.off('status', on);
      resolve();
    };
    const timer = setTimeout(() => {
      t.link.off('status', on);
      reject(new Error(`link did not reach ${status} within ${timeoutMs} ms; statuses: ${t.statuses.join(' -> ')}`));
    }, timeoutMs);
    t.link.on('status', on);
  });
}
