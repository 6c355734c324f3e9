import { createHash } from 'node:crypto';
import jid from '@xmpp/jid';
import type { Element } from '@xmpp/xml';
import { acceptedNick, isRightToLeft } from './nick-prep.ts';
import { buildMucLeave, type InboundPresence } from './stanza/presence.ts';

/**
 * Puppets: every remote person appears on XMPP as a JID on the component's domain, derived from
 * the canonical sender alone (a pure function: the same person gets the same JID after any
 * restart, on any instance, with no table to keep).
 *
 * Localpart = `<network>.<id>`. The id is written so that servers keep it as is and two ids never
 * meet in one JID:
 *  - a-z 0-9 . _ - + stay;
 *  - the nine characters XEP-0106 defines (space " & ' / : < > @) use its escapes (\20 ... \40);
 *  - everything else (upper case, which servers fold to lower case; non-ASCII, which they
 *    normalise; backslash; edge spaces, which XEP-0106 forbids escaping) is `=` + the lowercase
 *    hex of its UTF-8 bytes (`Alice` -> `=41lice`), and `=` itself is `=3d`.
 * So the mapping is reversible: a stanza to a puppet JID names the person it reaches. Ids whose
 * localpart would pass RFC 7622's 1023-byte limit become `<network>.=h<sha-256 prefix>`; those
 * cannot be reversed and resolve through the bus's identity records instead.
 */

export interface PuppetSender {
  network: string;
  id: string;
  name?: string;
}

/** RFC 7622 §3.3: a localpart is at most 1023 bytes. */
export const MAX_LOCALPART_BYTES = 1023;
/** The resource puppets use for their own sessions (MUC joins, direct chats). */
export const PUPPET_RESOURCE = 'switchboard';

const NETWORK = /^[a-z0-9-]{1,64}$/;
const KEEP = /^[a-z0-9._+-]$/;
const XEP0106 = new Set([' ', '"', '&', "'", '/', ':', '<', '>', '@']);

function hexBytes(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) out += `=${b.toString(16).padStart(2, '0')}`;
  return out;
}

function encodeId(id: string): string {
  let out = '';
  const chars = Array.from(id); // code points: a surrogate pair is one character
  chars.forEach((ch, i) => {
    const edge = i === 0 || i === chars.length - 1;
    if (KEEP.test(ch)) out += ch;
    else if (XEP0106.has(ch) && !(ch === ' ' && edge)) out += ch === ' ' ? '\\20' : jid.escapeLocal(ch); // escapeLocal trims a lone space
    else out += hexBytes(ch);
  });
  return out;
}

function decodeId(encoded: string): string | undefined {
  const unescaped = jid.unescapeLocal(encoded);
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < unescaped.length;) {
    if (unescaped[i] === '=') {
      const hex = unescaped.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      for (const b of enc.encode(unescaped[i] as string)) bytes.push(b);
      i++;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

/** The puppet's localpart (XEP-0106-escaped, as it appears in the JID). */
export function puppetLocalpart(sender: Pick<PuppetSender, 'network' | 'id'>): string {
  if (!NETWORK.test(sender.network)) throw new Error(`network name ${JSON.stringify(sender.network)} must be a-z 0-9 - (1-64)`);
  if (sender.id.length === 0) throw new Error('sender id is empty');
  const local = `${sender.network}.${encodeId(sender.id)}`;
  if (Buffer.byteLength(local) <= MAX_LOCALPART_BYTES) return local;
  const digest = createHash('sha256').update(`${sender.network}\u0000${sender.id}`, 'utf8').digest('hex');
  return `${sender.network}.=h${digest.slice(0, 40)}`;
}

/** The puppet's bare JID on the component domain. */
export function puppetJid(sender: Pick<PuppetSender, 'network' | 'id'>, domain: string): string {
  return `${puppetLocalpart(sender)}@${domain}`;
}

/** The puppet's full JID (the resource its sessions use). */
export function puppetFullJid(sender: Pick<PuppetSender, 'network' | 'id'>, domain: string): string {
  return `${puppetJid(sender, domain)}/${PUPPET_RESOURCE}`;
}

export type PuppetAddress =
  | { kind: 'sender'; network: string; id: string }
  | { kind: 'hashed'; network: string; localpart: string };

/**
 * Who a JID on our domain stands for, or undefined if it is not a puppet JID in canonical form
 * (a spoofed or mistyped address: whatever does not encode back to itself is refused).
 */
export function parsePuppetJid(address: string, domain: string): PuppetAddress | undefined {
  let parsed;
  try { parsed = jid(address); } catch { return undefined; }
  if (parsed.domain.toLowerCase() !== domain.toLowerCase() || !parsed.local) return undefined;
  const local = parsed.local; // as written, still escaped
  const dot = local.indexOf('.');
  if (dot <= 0) return undefined;
  const network = local.slice(0, dot);
  if (!NETWORK.test(network)) return undefined;
  const rest = local.slice(dot + 1);
  if (/^=h[0-9a-f]{40}$/.test(rest)) return { kind: 'hashed', network, localpart: local };
  const id = decodeId(rest);
  if (id === undefined || id.length === 0) return undefined;
  return puppetLocalpart({ network, id }) === local ? { kind: 'sender', network, id } : undefined;
}

// ---------------------------------------------------------------- nicknames

/** MUC nicks are resourceparts (RFC 7622 OpaqueString): no controls, not empty, at most 1023 bytes. We keep them short. */
export const MAX_NICK_CHARS = 64;

/**
 * The puppet's MUC nick: its display name as a strict resourceprep accepts it (nick-prep.ts: what
 * Prosody and ejabberd refuse, such as emoji, is left out), else its id, else its network.
 */
export function puppetNick(sender: PuppetSender): string {
  const clean = (s: string | undefined): string => acceptedNick((s ?? '').replace(/\p{White_Space}+/gu, ' ').replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ''), MAX_NICK_CHARS);
  return clean(sender.name) || clean(sender.id) || sender.network;
}

/**
 * The nick to try after `attempt` conflicts (XEP-0045 409): the base, then "base (network)",
 * then "base (2)", "base (3)", ... Never fails: a puppet always finds a nick. A right-to-left base
 * can take no suffix (nothing may follow its last right-to-left letter: nick-prep.ts), so its
 * later attempts are the network's name with the number.
 */
export function nickForAttempt(base: string, network: string, attempt: number): string {
  if (attempt <= 0) return base;
  if (isRightToLeft(base)) return `${network} (${attempt})`;
  const suffix = attempt === 1 ? ` (${network})` : ` (${attempt})`;
  const chars = Array.from(base);
  const room = MAX_NICK_CHARS - Array.from(suffix).length;
  return (chars.length > room ? chars.slice(0, room).join('').trimEnd() : base) + suffix;
}

/**
 * A room occupant whose real JID (as the room shows it) is on our domain, though we do not hold it
 * there: one left over from an earlier stream (ejabberd keeps a component's occupants when its
 * stream drops; a crash leaves them until the server notices). It is never news (not a person of
 * XMPP), and a puppet's ghost is made to leave (`leave`: the presence that does it). Undefined:
 * not ours, or the room does not show real JIDs to the relay.
 */
export function leftoverOfOurs(p: InboundPresence, domain: string): { leave?: Element } | undefined {
  let real;
  try { real = p.muc?.jid !== undefined ? jid(p.muc.jid) : undefined; } catch { return undefined; }
  if (real === undefined || real.domain.toLowerCase() !== domain.toLowerCase()) return undefined;
  const room = p.from.split('/')[0];
  if (p.type === 'unavailable' || !real.resource || !room || parsePuppetJid(real.bare().toString(), domain) === undefined) return {};
  return { leave: buildMucLeave(real.toString(), p.from) };
}
