import { z } from 'zod';
import { PRESENCE_STATES } from '../core/event.ts';

/**
 * The tables in mappings/ that exist so far. The mapper that applies them comes later; for now
 * they are validated and loaded, so a typo fails `switchboard check` today and not at runtime.
 */

/** One person's accounts on each network, linked under one canonical id. */
export const IdentitySchema = z.object({
  canonical: z.string().min(1).max(128).regex(/^[\w.@-]+$/, 'canonical ids use letters, digits and _ . @ -'),
  displayName: z.string().max(256).optional(),
  /** The WS token name (what the connector uses as sender id). */
  websocket: z.string().min(1).max(64).optional(),
  /** A bare JID. */
  xmpp: z.string().regex(/^[^@/\s]+@[^@/\s]+$/, 'must be a bare JID (user@domain)').optional(),
  /** An MTProto user id. */
  mtproto: z.union([z.string().regex(/^\d+$/, 'must be a numeric user id'), z.number().int().positive()]).transform(String).optional(),
}).strict().refine((i) => i.websocket !== undefined || i.xmpp !== undefined || i.mtproto !== undefined, {
  message: 'an identity links at least one account (websocket, xmpp or mtproto)',
});
export type Identity = z.output<typeof IdentitySchema>;

export const IdentitiesFileSchema = z.object({
  identities: z.array(IdentitySchema).max(100_000).default([]),
}).strict();

const canonicalState = z.enum(PRESENCE_STATES);

/** How each network's native presence states map onto the canonical ones, and how often to forward changes. */
export const PresenceFileSchema = z.object({
  /** Per network: native state name -> canonical state. */
  states: z.partialRecord(z.enum(['websocket', 'xmpp', 'mtproto']), z.record(z.string().min(1).max(64), canonicalState)).default({}),
  /** Presence changes of one person within this window are coalesced into the last one, in ms. */
  coalesceMs: z.number().int().min(0).max(600_000).default(2_000),
}).strict();
export type PresenceMapping = z.output<typeof PresenceFileSchema>;

export interface Mappings {
  readonly identities: readonly Identity[];
  readonly presence: PresenceMapping;
}

/** File name in mappings/ -> its schema. Unknown files are an error: a misspelt name would otherwise be ignored. */
export const MAPPING_FILES = {
  'identities.yaml': IdentitiesFileSchema,
  'presence.yaml': PresenceFileSchema,
} as const;
