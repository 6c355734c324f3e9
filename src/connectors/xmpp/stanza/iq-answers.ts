import xml, { type Element } from '@xmpp/xml';
import { NS } from '../ns.ts';
import { errorReply } from './errors.ts';

/**
 * Answers to the iq queries addressed to the component, a puppet or a room the component
 * represents: XEP-0030 disco#info/#items, XEP-0199 ping, XEP-0054 vCard. Pure: the caller says
 * what the addressed entity is.
 */

export interface Identity { category: string; type: string; name?: string }

export interface DiscoEntity {
  identities: readonly Identity[];
  features: readonly string[];
  items?: readonly { jid: string; name?: string; node?: string }[];
}

/** What the component itself is (XEP-0030 registry: component/generic; a gateway to the bridged networks). */
export function componentEntity(name: string, items: DiscoEntity['items'] = []): DiscoEntity {
  return {
    identities: [{ category: 'component', type: 'generic', name }, { category: 'gateway', type: 'switchboard', name }],
    features: [NS.discoInfo, NS.discoItems, NS.ping],
    items,
  };
}

/**
 * What a puppet (a person on another network) supports as a chat partner. Both retraction
 * namespaces: it reads and sends the XEP-0424 element and the older fasten form, and clients of
 * that older version (slixmpp 1.8 and those built on it) look for theirs.
 */
export function puppetEntity(name: string): DiscoEntity {
  return {
    identities: [{ category: 'client', type: 'pc', name }],
    features: [
      NS.discoInfo, NS.ping, NS.receipts, NS.markers, NS.chatStates, NS.correction, NS.retract, NS.retractLegacy, NS.reactions,
      NS.reply, NS.oob, NS.vcard, NS.nick,
    ].sort(),
    items: [],
  };
}

/** A room the component represents (a canonical room's address on the component). */
export function roomEntity(name: string): DiscoEntity {
  return {
    identities: [{ category: 'conference', type: 'text', name }],
    features: [NS.discoInfo, NS.muc, 'muc_persistent', 'muc_public', 'muc_open', 'muc_semianonymous', NS.sid].sort(),
    items: [],
  };
}

export function discoInfoResult(iq: Element, entity: DiscoEntity): Element {
  const node = iq.getChild('query', NS.discoInfo)?.attrs['node'];
  return xml('iq', { type: 'result', id: iq.attrs['id'], from: iq.attrs['to'], to: iq.attrs['from'] },
    xml('query', { xmlns: NS.discoInfo, ...(node ? { node } : {}) },
      ...entity.identities.map((i) => xml('identity', { category: i.category, type: i.type, ...(i.name ? { name: i.name } : {}) })),
      ...entity.features.map((f) => xml('feature', { var: f }))));
}

export function discoItemsResult(iq: Element, entity: DiscoEntity): Element {
  return xml('iq', { type: 'result', id: iq.attrs['id'], from: iq.attrs['to'], to: iq.attrs['from'] },
    xml('query', { xmlns: NS.discoItems },
      ...(entity.items ?? []).map((it) => xml('item', { jid: it.jid, ...(it.name ? { name: it.name } : {}), ...(it.node ? { node: it.node } : {}) }))));
}

/** XEP-0199 §5: a ping is answered with an empty result. */
export function pingResult(iq: Element): Element {
  return xml('iq', { type: 'result', id: iq.attrs['id'], from: iq.attrs['to'], to: iq.attrs['from'] });
}

export interface VCardData {
  nickname?: string;
  fullName?: string;
  /** Avatar: base64 bytes with their MIME type, or a URL (EXTVAL) when only that is known. */
  photo?: { type: string; base64: string } | { url: string };
}

/** XEP-0054 vCard result (NICKNAME, FN, PHOTO). */
export function vcardResult(iq: Element, v: VCardData): Element {
  const photo = v.photo === undefined ? undefined
    : 'url' in v.photo ? xml('PHOTO', {}, xml('EXTVAL', {}, v.photo.url))
      : xml('PHOTO', {}, xml('TYPE', {}, v.photo.type), xml('BINVAL', {}, v.photo.base64));
  return xml('iq', { type: 'result', id: iq.attrs['id'], from: iq.attrs['to'], to: iq.attrs['from'] },
    xml('vCard', { xmlns: NS.vcard },
      v.fullName ? xml('FN', {}, v.fullName) : undefined,
      v.nickname ? xml('NICKNAME', {}, v.nickname) : undefined,
      photo));
}

export type AddressedEntity =
  | { kind: 'component'; entity: DiscoEntity }
  | { kind: 'puppet'; entity: DiscoEntity; vcard: VCardData }
  | { kind: 'room'; entity: DiscoEntity }
  | { kind: 'unknown' };

/**
 * The answer to an iq get/set addressed to us: disco, ping, vCard where they apply; item-not-found
 * for an address that is nobody; service-unavailable for what we do not serve (RFC 6120 §8.2.3: every
 * get/set gets exactly one answer). Returns undefined for results and errors (never answered).
 */
export function answerIq(iq: Element, target: AddressedEntity): Element | undefined {
  const type = iq.attrs['type'];
  if (type !== 'get' && type !== 'set') return undefined;
  const payload = iq.getChildElements();
  const child = payload[0];
  if (payload.length !== 1 || child === undefined) return errorReply(iq, 'modify', 'bad-request');
  if (target.kind === 'unknown') return errorReply(iq, 'cancel', 'item-not-found');
  const ns = child.attrs['xmlns'];
  if (type === 'get' && child.name === 'ping' && ns === NS.ping) return pingResult(iq);
  if (type === 'get' && child.name === 'query' && ns === NS.discoInfo) {
    if (child.attrs['node']) return errorReply(iq, 'cancel', 'item-not-found');
    return discoInfoResult(iq, target.entity);
  }
  if (type === 'get' && child.name === 'query' && ns === NS.discoItems) return discoItemsResult(iq, target.entity);
  if (type === 'get' && child.name === 'vCard' && ns === NS.vcard && target.kind === 'puppet') return vcardResult(iq, target.vcard);
  return errorReply(iq, 'cancel', 'service-unavailable');
}
