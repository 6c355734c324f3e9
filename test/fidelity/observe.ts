/**
 * Waiting for what a native client received, from a mark on: each seat records everything it
 * gets (WS frames, XMPP stanzas, gramjs updates), so a cell waits for its rendering on events,
 * never on a guessed delay, and can also prove that something did NOT arrive (see `absentBefore`).
 */
import type { Element } from '@xmpp/xml';
import type { EventFrame, TestClient } from '../helpers/ws-client.ts';
import type { TestUser } from '../helpers/xmpp-client.ts';
import type { GramMessage, GramUpdate, updateRecorder } from '../mtproto/chat-harness.ts';
import { ALICE_NICK, type Rig } from './rig.ts';

export const TIMEOUT_MS = 10_000;
export type WsEvent = EventFrame['event'];

/** Where each receiving seat stood before a send. */
export interface Marks {
  readonly ws: number;
  readonly xmpp: number;
  readonly mtproto: number;
}

export function marks(rig: Rig): Marks {
  return { ws: rig.dave.events.length, xmpp: rig.alice.mark(), mtproto: rig.botUpdates.all.length };
}

/** The next WS event at or after `since` matching `pred` (each frame taken once). */
export async function wsNext(client: TestClient, since: number, pred: (e: WsEvent) => boolean, what: string): Promise<WsEvent> {
  try {
    const frame = await client.next((f) => f.type === 'event' && pred((f as EventFrame).event) && client.events.indexOf(f as EventFrame) >= since, TIMEOUT_MS);
    return (frame as EventFrame).event;
  } catch (err) {
    const seen = client.events.slice(since).map((e) => `${e.event.kind}:${JSON.stringify(e.event['text'] ?? e.event['state'] ?? e.event['target'] ?? '')}`).join(', ');
    throw new Error(`WS: ${what}: ${(err as Error).message}; events since the mark: ${seen || 'none'}`);
  }
}

export async function xmppNext(user: TestUser, since: number, pred: (el: Element) => boolean, what: string): Promise<Element> {
  return await user.waitFor(pred, what, { since, timeoutMs: TIMEOUT_MS });
}

export async function mtprotoNext(rec: ReturnType<typeof updateRecorder>, since: number, pred: (u: GramUpdate) => boolean, what: string): Promise<GramUpdate> {
  try {
    return await rec.next((u) => pred(u) && rec.all.indexOf(u) >= since, TIMEOUT_MS);
  } catch (err) {
    throw new Error(`MTProto: ${what}: ${(err as Error).message}`);
  }
}

export const messageOf = (u: GramUpdate): GramMessage => u['message'] as GramMessage;
export const isNewMessage = (pred: (m: GramMessage) => boolean) => (u: GramUpdate): boolean => u.className === 'UpdateNewMessage' && pred(messageOf(u));
export const isEditMessage = (pred: (m: GramMessage) => boolean) => (u: GramUpdate): boolean => u.className === 'UpdateEditMessage' && pred(messageOf(u));

// ---- XMPP stanzas as alice sees them in the MUC ------------------------------------------------

export const NS = {
  sid: 'urn:xmpp:sid:0',
  correction: 'urn:xmpp:message-correct:0',
  retract: 'urn:xmpp:message-retract:1',
  fasten: 'urn:xmpp:fasten:0',
  reactions: 'urn:xmpp:reactions:0',
  reply: 'urn:xmpp:reply:0',
  fallback: 'urn:xmpp:fallback:0',
  markers: 'urn:xmpp:chat-markers:0',
  chatStates: 'http://jabber.org/protocol/chatstates',
  oob: 'jabber:x:oob',
  styling: 'urn:xmpp:styling:0',
  hints: 'urn:xmpp:hints',
} as const;

/** The occupant nick a room stanza comes from (undefined: not from this room). */
export function nickOf(el: Element, roomJid: string): string | undefined {
  const from = el.attrs['from'] ?? '';
  return from.startsWith(`${roomJid}/`) ? from.slice(roomJid.length + 1) : undefined;
}

/** A groupchat message of a puppet (not alice's own reflection, not the relay). */
export function fromPuppet(el: Element, roomJid: string, nick?: string): boolean {
  if (el.name !== 'message' || el.attrs['type'] !== 'groupchat') return false;
  const from = nickOf(el, roomJid);
  if (from === undefined || from === ALICE_NICK || from === 'Switchboard') return false;
  return nick === undefined || from === nick;
}

/** alice's own message as the room reflects it to her. */
export function aliceReflection(el: Element, roomJid: string, id: string): boolean {
  return el.name === 'message' && el.attrs['type'] === 'groupchat' && nickOf(el, roomJid) === ALICE_NICK && el.attrs['id'] === id;
}

/** The XEP-0359 stanza-id the room stamped (what replies, reactions, retractions and markers in a MUC point at). */
export function roomStanzaId(el: Element, roomJid: string): string {
  const id = el.getChildren('stanza-id', NS.sid).find((s) => s.attrs['by'] === roomJid)?.attrs['id'];
  if (id === undefined) throw new Error(`no stanza-id by ${roomJid} on ${el.toString()}`);
  return id;
}

/** The items of `list` from `since` up to (not including) the first one matching `fence`. */
export function between<T>(list: readonly T[], since: number, fence: (x: T) => boolean): T[] {
  const out: T[] = [];
  for (let i = since; i < list.length; i++) {
    const x = list[i] as T;
    if (fence(x)) return out;
    out.push(x);
  }
  throw new Error('the fence has not arrived');
}
