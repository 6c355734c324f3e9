/** Types for the part of @xmpp/client 0.14 the tests use (the package ships none). */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { Element } from '@xmpp/xml';
  import type { JID } from '@xmpp/jid';

  export interface ClientOptions {
    service: string;
    domain: string;
    username: string;
    password: string;
    resource?: string;
  }
  export interface Client extends EventEmitter {
    status: string;
    jid: JID | null;
    reconnect: { stop(): void };
    iqCaller: { request(el: Element, timeoutMs?: number): Promise<Element> };
    start(): Promise<JID>;
    stop(): Promise<void>;
    send(el: Element): Promise<void>;
    on(event: 'stanza', listener: (el: Element) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'online', listener: (jid: JID) => void): this;
    on(event: 'status', listener: (status: string) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }
  export function client(options: ClientOptions): Client;
  export { default as xml } from '@xmpp/xml';
}
