import { client, xml, type Client } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { ProsodyServer } from './prosody.ts';

/**
 * A real XMPP client (@xmpp/client) logged in to a test Prosody as one of its users. It collects
 * every stanza it receives, so a test can wait for the one it expects (on events, never sleeping)
 * even if it arrived before the test started waiting.
 */
export interface TestUser {
  readonly name: string;
  /** Full JID after login (name@localhost/resource). */
  readonly jid: string;
  readonly bareJid: string;
  readonly client: Client;
  /** Every stanza received so far, in order. */
  readonly stanzas: readonly Element[];
  /** Position in `stanzas` now: pass it as `since` to wait only for what arrives later. */
  mark(): number;
  send(el: Element): Promise<void>;
  /** An iq request; resolves with the result stanza, rejects with the error. */
  request(el: Element, timeoutMs?: number): Promise<Element>;
  /** First stanza (at index >= since) matching the predicate; rejects with `what` after timeoutMs. */
  waitFor(pred: (el: Element) => boolean, what: string, options?: { since?: number; timeoutMs?: number }): Promise<Element>;
  /** Joins a MUC as nick (no history) and resolves with the self-presence (status 110). */
  joinMuc(roomJid: string, nick: string): Promise<Element>;
  stop(): Promise<void>;
}

export async function connectUser(server: ProsodyServer, name: string, resource = 'test'): Promise<TestUser> {
  const password = server.users[name];
  if (password === undefined) throw new Error(`user ${name} is not registered on this test server`);
  const c = client({
    service: `xmpp://127.0.0.1:${server.c2sPort}`, domain: server.domain, username: name, password, resource,
  });
  c.reconnect.stop(); // a test user that loses its server should stay offline, not retry every second
  const stanzas: Element[] = [];
  const errors: Error[] = [];
  c.on('stanza', (el) => { stanzas.push(el); c.emit('collected', el); });
  c.on('error', (err) => { errors.push(err); });
  const full = await c.start();

  const waitFor: TestUser['waitFor'] = (pred, what, options = {}) => {
    const since = options.since ?? 0;
    const timeoutMs = options.timeoutMs ?? 10_000;
    for (let i = since; i < stanzas.length; i++) {
      const el = stanzas[i];
      if (el !== undefined && pred(el)) return Promise.resolve(el);
    }
    return new Promise<Element>((resolve, reject) => {
      const onStanza = (el: Element): void => {
        if (!pred(el)) return;
        clearTimeout(timer);
        c.removeListener('collected', onStanza);
        resolve(el);
      };
      const timer = setTimeout(() => {
        c.removeListener('collected', onStanza);
        const recent = stanzas.slice(-5).map((s) => s.toString()).join('\n');
        reject(new Error(`${name}: timed out after ${timeoutMs} ms waiting for ${what}; last stanzas:\n${recent}${errors.length ? `\nerrors: ${errors.map((e) => e.message).join('; ')}` : ''}`));
      }, timeoutMs);
      c.on('collected', onStanza);
    });
  };

  return {
    name,
    jid: full.toString(),
    bareJid: `${name}@${server.domain}`,
    client: c,
    stanzas,
    mark: () => stanzas.length,
    send: (el) => c.send(el),
    request: (el, timeoutMs = 10_000) => c.iqCaller.request(el, timeoutMs),
    waitFor,
    async joinMuc(roomJid, nick) {
      const since = stanzas.length;
      await c.send(xml('presence', { to: `${roomJid}/${nick}` },
        xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '0' }))));
      return await waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${roomJid}/${nick}`
        && el.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChildren('status').some((s) => s.attrs['code'] === '110') === true,
      `self-presence in ${roomJid} as ${nick}`, { since });
    },
    async stop() {
      if (c.status === 'offline' || c.status === 'disconnect') return;
      try { await c.stop(); } catch { /* the server may already be gone */ }
    },
  };
}
