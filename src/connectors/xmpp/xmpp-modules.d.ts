/**
 * Types for the parts of xmpp.js 0.13 we use (the packages ship none). Only what Switchboard
 * calls is declared; everything is typed from the library's source
 * (@xmpp/component-core 0.13.1, @xmpp/connection 0.13.3, @xmpp/xml 0.13.3 over ltx 3, @xmpp/jid 0.13).
 */

declare module '@xmpp/xml' {
  export type Node = Element | string;
  export type Attrs = Record<string, string | undefined>;

  /** ltx's element: a name, attributes (with xmlns among them) and children. */
  export class Element {
    constructor(name: string, attrs?: Attrs);
    name: string;
    attrs: Record<string, string>;
    children: Node[];
    parent: Element | null;
    /** True if the name matches and the namespace (own or inherited) equals xmlns when given. */
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getAttr(name: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    append(...nodes: Node[]): this;
    c(name: string, attrs?: Attrs): Element;
    t(text: string): this;
    up(): Element;
    root(): Element;
    toString(): string;
  }

  export class Parser {
    constructor();
    write(data: string): void;
    end(data?: string): void;
    on(event: 'start' | 'element' | 'end', listener: (el: Element) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }

  export class XMLError extends Error {}

  /** xml(name, attrs, ...children): builds an element; undefined/null attributes and children are skipped. */
  function xml(name: string, attrs?: Attrs | null, ...children: Array<Node | undefined | null | false | Array<Node | undefined | null | false>>): Element;
  namespace xml {
    export { Element, Parser, XMLError };
    export function escapeXML(s: string): string;
    export function escapeXMLText(s: string): string;
  }
  export default xml;
}

declare module '@xmpp/xml/lib/parse.js' {
  import type { Element } from '@xmpp/xml';
  /** Parses one complete XML document into its root element; throws on malformed input. */
  function parse(data: string): Element;
  export default parse;
}

declare module '@xmpp/jid' {
  /** An XMPP address (RFC 7622) with XEP-0106 escaping of the localpart. */
  export class JID {
    constructor(local: string | null | undefined, domain: string, resource?: string | null);
    local: string;
    domain: string;
    resource: string;
    /** With unescape = true, the localpart is XEP-0106-unescaped. */
    toString(unescape?: boolean): string;
    bare(): JID;
    equals(other: JID): boolean;
    getLocal(unescape?: boolean): string;
    getDomain(): string;
    getResource(): string;
  }
  /** jid('a@b/c') parses; jid(local, domain, resource) builds (escaping the localpart if it needs it). */
  function jid(address: string): JID;
  function jid(local: string | null | undefined, domain: string, resource?: string | null): JID;
  namespace jid {
    export { JID };
    export function escapeLocal(local: string): string;
    export function unescapeLocal(local: string): string;
    export function detectEscape(local: string): boolean;
    export function parse(address: string): JID;
    export function equal(a: JID, b: JID): boolean;
  }
  export default jid;
}

declare module '@xmpp/component-core' {
  import type { EventEmitter } from 'node:events';
  import type { Element } from '@xmpp/xml';
  import type { JID } from '@xmpp/jid';

  export type ConnectionStatus =
    | 'offline' | 'connecting' | 'connect' | 'opening' | 'open' | 'online'
    | 'closing' | 'close' | 'disconnecting' | 'disconnect';

  /** The stream error @xmpp/connection emits (RFC 6120 §4.9): `condition` is the defined condition's name. */
  export interface StreamError extends Error {
    condition: string;
    text?: string;
    element?: Element;
  }

  /** XEP-0114 component connection (a @xmpp/connection-tcp Connection). */
  export class Component extends EventEmitter {
    constructor(options: { service: string; domain: string });
    status: ConnectionStatus;
    jid: JID | null;
    /** Timeout of connect/open/close steps in ms (default 2000). */
    timeout: number;
    socket: import('node:net').Socket | null;
    options: { service: string; domain: string };
    connect(service: string): Promise<void>;
    open(options: { domain: string; lang?: string; timeout?: number }): Promise<Element>;
    /** XEP-0114 handshake: SHA-1(stream id + secret); resolves once the server accepted it. */
    authenticate(streamId: string, secret: string): Promise<void>;
    send(el: Element): Promise<void>;
    write(data: string): Promise<void>;
    /** Closes the stream then the socket. */
    stop(): Promise<Element | undefined>;
    disconnect(timeout?: number): Promise<void>;
    isStanza(el: Element): boolean;

    on(event: 'status', listener: (status: ConnectionStatus, ...args: unknown[]) => void): this;
    on(event: 'open', listener: (el: Element) => void): this;
    on(event: 'element' | 'stanza' | 'nonza', listener: (el: Element) => void): this;
    on(event: 'input' | 'output', listener: (data: string) => void): this;
    on(event: 'error', listener: (err: Error | StreamError) => void): this;
    on(event: 'online', listener: (jid: JID) => void): this;
    on(event: 'disconnect', listener: (info: { clean: boolean }) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }
  export { default as xml } from '@xmpp/xml';
  export { default as jid } from '@xmpp/jid';
}
