import { z } from 'zod';
import { EVENT_ID_PATTERN, type EventId } from './ids.ts';

/**
 * Canonical event v1: the one shape every connector turns its native things into. Validated with
 * zod at every boundary (from a peer, from the bus, from a file); the TypeScript types are derived
 * from the schemas so the two can never drift.
 */

export const LIMITS = {
  textChars: 65_536,
  spans: 1_024,
  attachments: 32,
  reactions: 64,
  reactionChars: 64,
  idChars: 512,
  nameChars: 256,
  urlChars: 2_048,
  statusChars: 1_024,
  topicChars: 1_024,
  roomChars: 256,
} as const;

const shortText = (max: number) => z.string().min(1).max(max);

export const EventIdSchema = z.string().regex(EVENT_ID_PATTERN, 'must be a canonical event id (ULID)')
  .transform((s) => s as EventId);

export const ActorSchema = z.object({
  network: shortText(64),
  id: shortText(LIMITS.idChars),
  name: z.string().max(LIMITS.nameChars).optional(),
  avatar: z.string().url().max(LIMITS.urlChars).optional(),
}).strict();
export type Actor = z.infer<typeof ActorSchema>;

/** Where an event entered the bridge: the connector, its endpoint (native room address), its native ids. */
export const OriginSchema = z.object({
  connector: shortText(64),
  endpoint: shortText(LIMITS.roomChars),
  /** The native message id, when the network has one (used for echo suppression and the id map). */
  nativeId: z.string().max(LIMITS.idChars).optional(),
  /** The client session that sent it, for connectors that host many sessions on one endpoint. */
  session: z.string().max(LIMITS.idChars).optional(),
}).strict();
export type Origin = z.infer<typeof OriginSchema>;

export const SPAN_TYPES = ['bold', 'italic', 'strike', 'code', 'pre', 'link', 'mention', 'quote', 'spoiler'] as const;
export const SpanSchema = z.object({
  type: z.enum(SPAN_TYPES),
  /** Offsets and lengths count UTF-16 code units, like JS strings and MTProto entities. */
  offset: z.number().int().min(0),
  length: z.number().int().min(1),
  url: z.string().url().max(LIMITS.urlChars).optional(),
  user: z.string().max(LIMITS.idChars).optional(),
  language: z.string().max(64).optional(),
}).strict();
export type Span = z.infer<typeof SpanSchema>;

export const AttachmentSchema = z.object({
  id: shortText(LIMITS.idChars),
  name: z.string().max(LIMITS.nameChars),
  mime: z.string().max(255).regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a MIME type'),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256'),
  url: z.string().url().max(LIMITS.urlChars),
}).strict();
export type Attachment = z.infer<typeof AttachmentSchema>;

const base = {
  v: z.literal(1),
  id: EventIdSchema,
  ts: z.number().int().min(0),
  room: shortText(LIMITS.roomChars),
  sender: ActorSchema,
  origin: OriginSchema,
};

/** Whether a UTF-16 index falls between the two halves of a surrogate pair (inside one character). */
export function splitsSurrogatePair(text: string, at: number): boolean {
  if (at <= 0 || at >= text.length) return false;
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

function spansFit(text: string, spans: readonly Span[] | undefined): boolean {
  return (spans ?? []).every((s) => s.offset + s.length <= text.length
    && !splitsSurrogatePair(text, s.offset) && !splitsSurrogatePair(text, s.offset + s.length));
}
const SPANS_MSG = {
  message: 'every span must lie within the text (offset + length <= text length in UTF-16 units) and start and end on a character boundary (never inside a surrogate pair)',
  path: ['spans'],
};

export const MessageEventSchema = z.object({
  ...base,
  kind: z.literal('message'),
  /** May be absent in input when the message is only attachments: then ''. */
  text: z.string().max(LIMITS.textChars).default(''),
  spans: z.array(SpanSchema).max(LIMITS.spans).optional(),
  attachments: z.array(AttachmentSchema).max(LIMITS.attachments).optional(),
  replyTo: EventIdSchema.optional(),
  thread: EventIdSchema.optional(),
}).strict().refine((e) => spansFit(e.text, e.spans), SPANS_MSG)
  .refine((e) => e.text.length > 0 || (e.attachments?.length ?? 0) > 0, { message: 'a message needs text or an attachment', path: ['text'] });

export const EditEventSchema = z.object({
  ...base,
  kind: z.literal('edit'),
  target: EventIdSchema,
  text: z.string().min(1).max(LIMITS.textChars),
  spans: z.array(SpanSchema).max(LIMITS.spans).optional(),
}).strict().refine((e) => spansFit(e.text, e.spans), SPANS_MSG);

/**
 * A moderator's removal of someone's message, set only by a connector that checked the right: an
 * XMPP room's announcement (XEP-0425: the room checked the moderator's role), a WS token or an
 * MTProto account the operator made a moderator. Receivers apply such a retraction whoever sent
 * the message; any other retraction only from its author. The event's sender is the moderator
 * (or the XMPP room, when it did not say who).
 */
export const ModerationSchema = z.object({
  reason: z.string().max(LIMITS.statusChars).optional(),
}).strict();
export type Moderation = z.infer<typeof ModerationSchema>;

export const RetractEventSchema = z.object({
  ...base,
  kind: z.literal('retract'),
  target: EventIdSchema,
  moderation: ModerationSchema.optional(),
}).strict();

export const ReactionEventSchema = z.object({
  ...base,
  kind: z.literal('reaction'),
  target: EventIdSchema,
  /** The sender's full, current reaction set on the target (empty = all removed): idempotent by design. */
  reactions: z.array(shortText(LIMITS.reactionChars)).max(LIMITS.reactions),
}).strict();

export const PRESENCE_STATES = ['available', 'away', 'dnd', 'xa', 'offline'] as const;
export const PresenceEventSchema = z.object({
  ...base,
  kind: z.literal('presence'),
  state: z.enum(PRESENCE_STATES),
  status: z.string().max(LIMITS.statusChars).optional(),
  lastSeen: z.number().int().min(0).optional(),
}).strict();

export const TypingEventSchema = z.object({
  ...base,
  kind: z.literal('typing'),
  state: z.enum(['active', 'paused', 'stopped']),
}).strict();

export const ReceiptEventSchema = z.object({
  ...base,
  kind: z.literal('receipt'),
  target: EventIdSchema,
  receipt: z.enum(['delivered', 'displayed']),
}).strict();

export const MembershipEventSchema = z.object({
  ...base,
  kind: z.literal('membership'),
  action: z.enum(['join', 'leave']),
}).strict();

/**
 * A room's topic set (an XMPP room's subject, an MTProto group's description, a WS room's topic):
 * the whole new topic, '' when it was cleared. Its sender is who set it (or the XMPP room, when
 * the subject changed while the bridge was away and nobody is named). A room's topic, never a
 * direct chat's.
 */
export const TopicEventSchema = z.object({
  ...base,
  kind: z.literal('topic'),
  text: z.string().max(LIMITS.topicChars),
}).strict();

export const CanonicalEventSchema = z.discriminatedUnion('kind', [
  MessageEventSchema, EditEventSchema, RetractEventSchema, ReactionEventSchema,
  PresenceEventSchema, TypingEventSchema, ReceiptEventSchema, MembershipEventSchema, TopicEventSchema,
]);

export type CanonicalEvent = z.infer<typeof CanonicalEventSchema>;
export type EventKind = CanonicalEvent['kind'];
export type EventOfKind<K extends EventKind> = Extract<CanonicalEvent, { kind: K }>;
export const EVENT_KINDS: readonly EventKind[] = ['message', 'edit', 'retract', 'reaction', 'presence', 'typing', 'receipt', 'membership', 'topic'];

export type ValidationResult =
  | { ok: true; event: CanonicalEvent }
  | { ok: false; error: string; issues: { path: string; message: string }[] };

/**
 * Events this process validated: frozen (deeply), so they are still exactly what was checked.
 * Validating one of them again is a lookup: an event passed from a connector to the bus in one
 * process is checked once, not at each layer it crosses.
 */
const validated = new WeakSet<object>();

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** Issues reported with a validation error at most, and the unknown field names named per issue: an answer stays small. */
const MAX_ISSUES = 10;
const MAX_NAMED_KEYS = 5;

/** `path: message` in words a client developer can act on, bounded in size whatever the input. */
export function describeIssue(issue: { path: readonly PropertyKey[]; message: string; code?: string; keys?: readonly string[] }): { path: string; message: string } {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    const names = issue.keys.slice(0, MAX_NAMED_KEYS).map((k) => JSON.stringify(k.length > 32 ? `${k.slice(0, 32)}…` : k));
    const more = issue.keys.length > MAX_NAMED_KEYS ? ` and ${issue.keys.length - MAX_NAMED_KEYS} more` : '';
    return { path, message: `unknown field${issue.keys.length === 1 ? '' : 's'} ${names.join(', ')}${more}` };
  }
  return { path, message: issue.message.length > 200 ? `${issue.message.slice(0, 200)}…` : issue.message };
}

/** Joins a path and a message: `spans.0.offset: ...`, or the bare message for the object itself. */
export function formatIssue(prefix: string, issue: { path: string; message: string }): string {
  const where = [prefix, issue.path].filter((p) => p !== '').join('.');
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * The path of the first string (or key) holding a lone UTF-16 surrogate: such text is not Unicode,
 * and relaying it breaks strict JSON decoders on other networks, so it is refused everywhere.
 */
export function findLoneSurrogate(value: unknown, depth = 0): string[] | undefined {
  // The path is built only on the way back from a finding: validation runs for every event, and
  // a path array per key checked was most of its garbage.
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? [] : undefined;
  if (typeof value !== 'object' || value === null || depth > 16) return undefined;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (LONE_SURROGATE.test(key)) return [key];
    const found = findLoneSurrogate((value as Record<string, unknown>)[key], depth + 1);
    if (found) return [key, ...found];
  }
  return undefined;
}

/** Validates untrusted input as a canonical event. Never throws. The event returned is frozen. */
export function validateEvent(input: unknown): ValidationResult {
  if (typeof input === 'object' && input !== null && validated.has(input)) return { ok: true, event: input as CanonicalEvent };
  const lone = findLoneSurrogate(input);
  if (lone) {
    const issue = { path: lone.join('.'), message: 'contains a lone UTF-16 surrogate: text must be valid Unicode' };
    return { ok: false, error: formatIssue('', issue), issues: [issue] };
  }
  const parsed = CanonicalEventSchema.safeParse(input);
  if (parsed.success) {
    deepFreeze(parsed.data);
    validated.add(parsed.data);
    return { ok: true, event: parsed.data };
  }
  const issues = parsed.error.issues.slice(0, MAX_ISSUES).map((i) => describeIssue(i as Parameters<typeof describeIssue>[0]));
  const first = issues[0];
  return { ok: false, error: first ? formatIssue('', first) : 'invalid event', issues };
}

/** Parses a canonical event that must be valid (from our own bus): throws with the reason if not. */
export function parseEvent(input: unknown): CanonicalEvent {
  const r = validateEvent(input);
  if (!r.ok) throw new Error(`invalid canonical event: ${r.error}`);
  return r.event;
}
