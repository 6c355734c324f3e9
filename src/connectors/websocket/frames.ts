import { z } from 'zod';
import { ErrorCode } from '../../core/errors.ts';
import { describeIssue, formatIssue, type CanonicalEvent } from '../../core/event.ts';
import type { Cursor, Direction } from '../../core/endpoint.ts';
import { HISTORY_MAX_EVENTS } from './history.ts';

/**
 * Protocol v1 frames (docs/websocket-protocol.md). Client frames are validated here with zod;
 * server frames are plain types. Client frames are strict: an unknown field is a bad_frame, so a
 * typo such as `sinse` fails loudly instead of silently replaying from the wrong place.
 */

export const PROTOCOL_VERSION = 1;
export const MAX_REF_CHARS = 64;
export const MAX_TXN_CHARS = 64;

const ref = z.string().max(MAX_REF_CHARS).optional();
const room = z.string().min(1).max(256);
/**
 * Checked with isCursor by the handler, so a malformed one gets the specific code bad_cursor.
 * null: "I have no cursor yet" (a `joined` of an empty room carries null): everything retained.
 */
const since = z.string().max(64).nullable().optional();

export const JoinFrame = z.object({ type: z.literal('join'), ref, room, since }).strict();
export const LeaveFrame = z.object({ type: z.literal('leave'), ref, room }).strict();
export const SendFrame = z.object({
  type: z.literal('send'), ref, room,
  /** The client's transaction id: a resend with the same one is acknowledged, not published again. */
  txn: z.string().min(1).max(MAX_TXN_CHARS).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
  /**
   * kind + the kind's own fields; the server fills v, id, ts, room, sender and origin. Only its
   * being an object is the frame's business: what is inside is the event's, checked by buildEvent
   * (invalid_event, after the room checks). Passed on as parsed, not copied: JSON.parse makes
   * `__proto__` an own key, which a strict schema refuses like any unknown field, but a copy by
   * assignment would turn it into a prototype and lose it silently.
   */
  event: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { message: 'must be an object' }),
}).strict();
export const SubscribeFrame = z.object({ type: z.literal('subscribe'), ref, room, since }).strict();
export const UnsubscribeFrame = z.object({ type: z.literal('unsubscribe'), ref, room }).strict();
export const PingFrame = z.object({ type: z.literal('ping'), ref }).strict();
/**
 * A page of a room's history, newest first from `before` (exclusive; absent: from the newest).
 * `stream: true`: `room` is a canonical room whose stream a bot follows (as with subscribe).
 */
export const HistoryFrame = z.object({
  type: z.literal('history'), ref, room, stream: z.boolean().optional(), before: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(HISTORY_MAX_EVENTS).optional(),
}).strict();
/** Asks for the rooms this connection may use now (hello's lists, after the operator's reloads). */
export const RoomsRequestFrame = z.object({ type: z.literal('rooms'), ref }).strict();

export const ClientFrameSchema = z.discriminatedUnion('type', [JoinFrame, LeaveFrame, SendFrame, SubscribeFrame, UnsubscribeFrame, PingFrame, RoomsRequestFrame, HistoryFrame]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = ['join', 'leave', 'send', 'subscribe', 'unsubscribe', 'ping', 'rooms', 'history'];

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; ref: string | undefined; code: ErrorCode; message: string };

/** Turns one text frame into a validated client frame, or the error to answer with. Never throws. */
export function parseClientFrame(text: string): ParsedFrame {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, ref: undefined, code: ErrorCode.BadJson, message: 'frame is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { ok: false, ref: undefined, code: ErrorCode.BadFrame, message: 'frame must be a JSON object' };
  }
  const fields = json as Record<string, unknown>;
  // Echo the ref even on a bad frame, when it is usable, so the client can match the error.
  const echoRef = typeof fields['ref'] === 'string' && fields['ref'].length <= MAX_REF_CHARS ? fields['ref'] : undefined;
  const type = fields['type'];
  if (typeof type !== 'string') return { ok: false, ref: echoRef, code: ErrorCode.BadFrame, message: 'type: must be a string' };
  if (!(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
    return { ok: false, ref: echoRef, code: ErrorCode.UnknownType, message: `unknown frame type "${type.slice(0, 32)}"` };
  }
  const parsed = ClientFrameSchema.safeParse(json);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const issue = parsed.error.issues[0];
  const message = issue ? formatIssue('', describeIssue(issue as Parameters<typeof describeIssue>[0])) : 'invalid frame';
  return { ok: false, ref: echoRef, code: ErrorCode.BadFrame, message };
}

// ---- server frames ----

export type Scope = 'client' | 'bot';

export interface HelloFrame {
  type: 'hello';
  protocol: typeof PROTOCOL_VERSION;
  session: string;
  user: string;
  scope: Scope;
  /** Whether this token may remove anyone's message in its rooms (a `retract` with `moderation`). */
  moderator: boolean;
  /** WS rooms this token may join. */
  rooms: string[];
  /** Canonical rooms this token may subscribe to (bot scope only; empty for clients). */
  streams: string[];
  /** The rooms of `rooms` bridged one way (bridges/ `direction`); a room not named here is bridged both ways. */
  directions: Record<string, Exclude<Direction, 'both'>>;
  /** Whether this server takes direct chats (WS rooms `@<network>:<id>`). */
  directMessages: boolean;
  /** The token's direct chats, most recently active first (at most 100): join them with `since` to catch up. */
  directChats: string[];
  limits: { maxPayloadBytes: number; ratePerSecond: number; rateBurst: number; heartbeatMs: number; maxBufferedBytes: number };
}
/**
 * `topic`: the room's current topic (its last `topic` event), absent when it has none (and for a
 * direct chat). `direction`: how bridges/ links this WS room, absent for `both`: `receive-only`
 * (its sends are refused: `forbidden`) or `send-only` (only what is said in this WS room is shown).
 */
export interface JoinedFrame { type: 'joined'; ref?: string; room: string; cursor: Cursor | null; topic?: CanonicalEvent; direction?: Exclude<Direction, 'both'> }
/**
 * The answer to `leave`; or, without `ref`, the server's notice that the session is no longer
 * joined (the operator's reload): `reason` `unlinked` (no bridge links the WS room any more),
 * `moved` (the WS room now belongs to another canonical room, whose stream the cursor does not
 * point into: join again, without `since`), `redirected` (bridges/ links it another way now: join
 * again, with `since`, and `joined.direction` says how) or `forbidden` (the token may no longer use the room).
 */
export interface LeftFrame { type: 'left'; ref?: string; room: string; reason?: 'unlinked' | 'moved' | 'redirected' | 'forbidden' }
/** `duplicate`: this send's `txn` was published before; `id` is that first event's. */
export interface AckFrame { type: 'ack'; ref?: string; id: string; room: string; duplicate?: true }
/** `topic`: the room's current topic, as in `joined`. */
export interface SubscribedFrame { type: 'subscribed'; ref?: string; room: string; cursor: Cursor | null; topic?: CanonicalEvent }
/**
 * The answer to `unsubscribe`; or, without `ref`, the server's notice (the operator's reload):
 * `reason` `unlinked` (no bridge declares the room any more) or `forbidden` (the token may no
 * longer follow it: its rooms or scope changed).
 */
export interface UnsubscribedFrame { type: 'unsubscribed'; ref?: string; room: string; reason?: 'unlinked' | 'forbidden' }
export interface PongFrame { type: 'pong'; ref?: string }
export interface EventPushFrame { type: 'event'; room: string; cursor: Cursor; event: CanonicalEvent }
export interface ErrorFrame { type: 'error'; ref?: string; code: ErrorCode; message: string; room?: string }
/** The answer to `rooms`: hello's `rooms`, `streams` and `directions` as they are now. */
export type RoomsFrame = { type: 'rooms'; ref?: string } & Pick<HelloFrame, 'rooms' | 'streams' | 'directions'>;
/**
 * The answer to `history`: the page's events oldest first (each as in an `event` frame), and
 * `before`, the cursor that asks for the next older page, or null at the oldest retained event.
 */
export interface HistoryAnswerFrame { type: 'history'; ref?: string; room: string; events: { cursor: Cursor; event: CanonicalEvent }[]; before: Cursor | null }
export type ServerFrame = HelloFrame | RoomsFrame | HistoryAnswerFrame | JoinedFrame | LeftFrame | AckFrame | SubscribedFrame | UnsubscribedFrame | PongFrame | EventPushFrame | ErrorFrame;
