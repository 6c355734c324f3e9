import xml, { type Element } from '@xmpp/xml';
import { NS } from '../ns.ts';

export type ErrorType = 'cancel' | 'continue' | 'modify' | 'auth' | 'wait';

/**
 * The RFC 6120 §8.3 error reply to a stanza: to/from swapped, same id, the original payload
 * left out (it may be what was too large). Never for a stanza from a room: rooms kick occupants
 * that send errors (the caller checks `mayBounce`).
 */
export function errorReply(stanza: Element, type: ErrorType, condition: string, text?: string): Element {
  return xml(stanza.name, { type: 'error', from: stanza.attrs['to'], to: stanza.attrs['from'], id: stanza.attrs['id'] },
    xml('error', { type }, xml(condition, { xmlns: NS.stanzas }), text ? xml('text', { xmlns: NS.stanzas }, text) : undefined));
}

/**
 * Whether an error may be sent back for this stanza: never to an error, never to groupchat or to
 * anything from a room or an occupant of one (XEP-0045: errors to a room get the occupant kicked).
 * iq requests always get an answer (RFC 6120 §8.2.3), rooms included.
 */
export function mayBounce(stanza: Element, isRoom: (bareJid: string) => boolean): boolean {
  const type = stanza.attrs['type'];
  if (type === 'error' || type === 'result') return false;
  if (stanza.name === 'iq') return type === 'get' || type === 'set';
  if (type === 'groupchat') return false;
  const from = stanza.attrs['from'] ?? '';
  const bare = from.split('/')[0] ?? '';
  return !isRoom(bare);
}
