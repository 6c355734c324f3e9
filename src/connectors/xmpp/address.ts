import { createHash } from 'node:crypto';
import jid, { type JID } from '@xmpp/jid';

/** Parses a JID, or undefined if it is not one (never throws: it runs on peer input). */
export function parseJid(address: string | undefined): JID | undefined {
  if (address === undefined || address.length === 0 || address.length > 3_071) return undefined;
  // RFC 7622 §3: an '@' or '/' present means a non-empty localpart or resourcepart; the library is lenient there.
  const slash = address.indexOf('/');
  const bare = slash === -1 ? address : address.slice(0, slash);
  if (bare.startsWith('@') || bare.endsWith('@') || (slash !== -1 && slash === address.length - 1)) return undefined;
  try {
    const parsed = jid(address);
    return parsed.domain.length > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a stanza's `from` lies inside the component's domain: the JID's domainpart is exactly
 * the component domain (any localpart/resource). Prosody closes the whole component stream
 * (`invalid-from`) on the first stanza that fails this, so the link checks every stanza before it
 * leaves. Subdomains are outside: a component owns exactly its one domain (XEP-0114).
 */
export function fromInsideDomain(from: string | undefined, domain: string): boolean {
  const parsed = parseJid(from);
  return parsed !== undefined && parsed.domain.toLowerCase() === domain.toLowerCase();
}

/** The bare form (local@domain or domain) of an address, or undefined if it is not a JID. */
export function bareJid(address: string | undefined): string | undefined {
  return parseJid(address)?.bare().toString();
}

/**
 * The bus-state key of something kept per room (`<prefix>:<room>`), hashed (`<prefix>#<sha-256>`)
 * when a long room JID would pass the store's key limit.
 */
export function roomStateKey(prefix: string, room: string): string {
  return room.length <= 400 ? `${prefix}:${room}` : `${prefix}#${createHash('sha256').update(room).digest('hex')}`;
}
