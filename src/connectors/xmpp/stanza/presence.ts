import xml, { type Element } from '@xmpp/xml';
import { LIMITS } from '../../../core/event.ts';
import { NS } from '../ns.ts';
import { clip } from '../../../core/text.ts';

/** Presence parse/build: availability (show, status), subscriptions, XEP-0045 occupancy and its status codes. */

export type PresenceType = 'available' | 'unavailable' | 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed' | 'probe' | 'error';
export type Show = 'away' | 'chat' | 'dnd' | 'xa';
export type CanonicalPresenceState = 'available' | 'away' | 'dnd' | 'xa' | 'offline';

/** XEP-0045 status codes the bridge acts on. */
export const MucStatus = {
  SelfPresence: 110,
  RoomCreated: 201,
  NickChanged: 303,
  Kicked: 307,
  RemovedAffiliation: 321,
  RemovedMembersOnly: 322,
  RemovedShutdown: 332,
} as const;

export interface MucOccupancy {
  codes: number[];
  affiliation?: string;
  role?: string;
  /** The occupant's real JID when the room reveals it. */
  jid?: string;
  /** New nick (with 303). */
  nick?: string;
  /** Why (kick reason). */
  reason?: string;
  /** The room is gone: destroyed by its owner (XEP-0045 §10.9, `<destroy/>`). */
  destroyed?: boolean;
}

export interface InboundPresence {
  from: string;
  to: string;
  type: PresenceType;
  show?: Show;
  status?: string;
  priority?: number;
  nick?: string;
  muc?: MucOccupancy;
  occupantId?: string;
  /**
   * XEP-0153: the SHA-1 (hex, lower case) of the sender's vCard photo; '' when the sender says it
   * has none (an empty <photo/>); absent when the presence says nothing about an avatar.
   */
  photo?: string;
  /** For type=error: the defined condition (e.g. conflict = nick taken, XEP-0045 §7.2.9). */
  errorCondition?: string;
}

const TYPES: readonly PresenceType[] = ['unavailable', 'subscribe', 'subscribed', 'unsubscribe', 'unsubscribed', 'probe', 'error'];
const SHOWS: readonly Show[] = ['away', 'chat', 'dnd', 'xa'];

export function parsePresence(el: Element): InboundPresence {
  const rawType = el.attrs['type'];
  const type = TYPES.find((t) => t === rawType) ?? 'available';
  const p: InboundPresence = { from: el.attrs['from'] ?? '', to: el.attrs['to'] ?? '', type };
  const show = el.getChildText('show')?.trim();
  if (show !== undefined && (SHOWS as readonly string[]).includes(show)) p.show = show as Show;
  const status = el.getChildText('status');
  if (status !== null && status !== undefined && status.length > 0) p.status = clip(status, LIMITS.statusChars);
  const priority = Number(el.getChildText('priority'));
  if (el.getChild('priority') && Number.isInteger(priority) && priority >= -128 && priority <= 127) p.priority = priority;
  const nick = el.getChildText('nick', NS.nick)?.trim();
  if (nick) p.nick = clip(nick, LIMITS.nameChars);
  const x = el.getChild('x', NS.mucUser);
  if (x) {
    const muc: MucOccupancy = { codes: [] };
    for (const s of x.getChildren('status')) {
      const code = Number(s.attrs['code']);
      if (Number.isInteger(code) && code >= 100 && code <= 999 && !muc.codes.includes(code)) muc.codes.push(code);
    }
    const item = x.getChild('item');
    if (item) {
      if (item.attrs['affiliation']) muc.affiliation = item.attrs['affiliation'];
      if (item.attrs['role']) muc.role = item.attrs['role'];
      if (item.attrs['jid']) muc.jid = item.attrs['jid'];
      if (item.attrs['nick']) muc.nick = item.attrs['nick'];
      const reason = item.getChildText('reason');
      if (reason) muc.reason = clip(reason, LIMITS.statusChars);
    }
    if (x.getChild('destroy')) muc.destroyed = true;
    p.muc = muc;
  }
  const occupant = el.getChild('occupant-id', NS.occupantId)?.attrs['id'];
  if (occupant) p.occupantId = occupant;
  const photo = el.getChild('x', NS.vcardUpdate)?.getChild('photo');
  if (photo) {
    // XEP-0153 §3.1: an empty element means "no avatar"; anything but a SHA-1 is ignored.
    const hash = photo.getText().trim().toLowerCase();
    if (hash === '' || /^[0-9a-f]{40}$/.test(hash)) p.photo = hash;
  }
  if (type === 'error') {
    const cond = el.getChild('error')?.getChildElements().find((c) => c.attrs['xmlns'] === NS.stanzas);
    p.errorCondition = cond?.name ?? 'undefined-condition';
  }
  return p;
}

/** XMPP availability -> the canonical presence state. */
export function canonicalState(p: Pick<InboundPresence, 'type' | 'show'>): CanonicalPresenceState | undefined {
  if (p.type === 'unavailable') return 'offline';
  if (p.type !== 'available') return undefined;
  if (p.show === 'away' || p.show === 'dnd' || p.show === 'xa') return p.show;
  return 'available';
}

/** A self-presence in a room (status 110). */
export function isSelfPresence(p: InboundPresence): boolean {
  return p.muc?.codes.includes(MucStatus.SelfPresence) === true;
}

/** An unavailable self-presence that means we were thrown out (kick, affiliation, members-only, shutdown): rejoin later. */
export function removalReason(p: InboundPresence): 'kicked' | 'affiliation' | 'members-only' | 'shutdown' | undefined {
  if (p.type !== 'unavailable' || !p.muc) return undefined;
  const c = p.muc.codes;
  if (c.includes(MucStatus.Kicked)) return 'kicked';
  if (c.includes(MucStatus.RemovedAffiliation)) return 'affiliation';
  if (c.includes(MucStatus.RemovedMembersOnly)) return 'members-only';
  if (c.includes(MucStatus.RemovedShutdown)) return 'shutdown';
  return undefined;
}

export interface PresenceOut {
  from: string;
  to: string;
  type?: Exclude<PresenceType, 'available' | 'error'>;
  state?: CanonicalPresenceState;
  status?: string;
  nick?: string;
  /**
   * XEP-0153: the SHA-1 (hex) of the avatar the sender's vCard carries, so clients know to fetch
   * it (and when it changed). Absent: the presence says nothing about an avatar.
   */
  photo?: string;
}

/** Availability/subscription presence; canonical `offline` becomes type=unavailable. */
export function buildPresence(p: PresenceOut): Element {
  const type = p.type ?? (p.state === 'offline' ? 'unavailable' : undefined);
  const show = p.state === 'away' || p.state === 'dnd' || p.state === 'xa' ? p.state : undefined;
  return xml('presence', { from: p.from, to: p.to, ...(type ? { type } : {}) },
    show ? xml('show', {}, show) : undefined,
    p.status ? xml('status', {}, clip(p.status, LIMITS.statusChars)) : undefined,
    p.nick ? xml('nick', { xmlns: NS.nick }, p.nick) : undefined,
    p.photo !== undefined && type !== 'unavailable' ? xml('x', { xmlns: NS.vcardUpdate }, xml('photo', {}, p.photo)) : undefined);
}

/** XEP-0045 join without history (maxstanzas=0: a puppet must not re-bridge the room's past). */
export function buildMucJoin(from: string, occupantJid: string, opts: { state?: CanonicalPresenceState; status?: string; photo?: string; password?: string } = {}): Element {
  const presence = buildPresence({ from, to: occupantJid, ...(opts.state && opts.state !== 'offline' ? { state: opts.state } : {}), ...(opts.status ? { status: opts.status } : {}), ...(opts.photo !== undefined ? { photo: opts.photo } : {}) });
  presence.append(xml('x', { xmlns: NS.muc }, xml('history', { maxstanzas: '0' }), opts.password ? xml('password', {}, opts.password) : undefined));
  return presence;
}

export function buildMucLeave(from: string, occupantJid: string, status?: string): Element {
  return buildPresence({ from, to: occupantJid, type: 'unavailable', ...(status ? { status } : {}) });
}
