import { z } from 'zod';
import { PRESENCE_STATES } from '../core/event.ts';

/**
 * The tables in mappings/, applied by the mapper (src/mapper/, docs/mapper.md). Validated at load
 * and at every reload (SIGHUP), so a typo fails `switchboard check` and never reaches the mapper.
 */

/** One person's accounts on each network, linked under one canonical id. */
export const IdentitySchema = z.object({
  canonical: z.string().min(1).max(128).regex(/^[\w.@-]+$/, 'canonical ids use letters, digits and _ . @ -'),
  displayName: z.string().max(256).optional(),
  /** Their avatar (shown where the target network shows avatars); default: what their network gives. */
  avatar: z.string().url().max(2_048).optional(),
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

const TEMPLATE_FIELDS = /\{(?!(?:name|network|id|canonical)\})[^}]*\}/;
const template = z.string().min(1).max(256).refine((t) => !TEMPLATE_FIELDS.test(t), {
  message: 'unknown placeholder: use {name}, {network}, {id} or {canonical}',
});

/**
 * How a sender's name is shown on each target network: `{name}` (identities.displayName, else
 * the name their network gives, else their id), `{network}` (where they wrote from, as spelt in
 * `networks`), `{id}` (their id there), `{canonical}` (their canonical id when linked, else {id}).
 */
export const DisplayNamesSchema = z.object({
  default: template.default('{name} ({network})'),
  websocket: template.optional(),
  xmpp: template.optional(),
  mtproto: template.optional(),
  /** How {network} is written per source network, e.g. `mtproto: Telegram`. */
  networks: z.partialRecord(z.enum(['websocket', 'xmpp', 'mtproto']), z.string().min(1).max(64)).default({}),
}).strict();
export type DisplayNames = z.output<typeof DisplayNamesSchema>;

export const IdentitiesFileSchema = z.object({
  displayNames: DisplayNamesSchema.prefault({}),
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
  readonly displayNames: DisplayNames;
  readonly presence: PresenceMapping;
}

/** File name in mappings/ -> its schema. Unknown files are an error: a misspelt name would otherwise be ignored. */
export const MAPPING_FILES = {
  'identities.yaml': IdentitiesFileSchema,
  'presence.yaml': PresenceFileSchema,
} as const;
