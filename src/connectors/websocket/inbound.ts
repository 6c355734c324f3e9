import { ErrorCode } from '../../core/errors.ts';
import { formatIssue, validateEvent, type CanonicalEvent, type EventKind } from '../../core/event.ts';
import { newEventId } from '../../core/ids.ts';
import type { Bus } from '../../bus/types.ts';
import type { Logger } from '../../core/logger.ts';
import { CloseCode, type Session } from './session.ts';
import type { WsMetrics } from './metrics.ts';

export const CONNECTOR = 'websocket';

/**
 * Kinds a WS client may send. membership is the bridge's own doing (join/leave), not a client's
 * claim; topic only a moderator token's (below).
 */
export const SENDABLE_KINDS: readonly EventKind[] = ['message', 'edit', 'retract', 'reaction', 'typing', 'presence', 'receipt', 'topic'];

/** Fields of the canonical event the server fills in: a client may not choose its id, time, room or identity. */
const SERVER_FIELDS = ['v', 'id', 'ts', 'room', 'sender', 'origin'] as const;

export type BuildResult = { ok: true; event: CanonicalEvent } | { ok: false; message: string };

/**
 * Turns the `event` of a send frame into a canonical event: the client gives the kind and its
 * fields, the server the id, time, room, sender and origin (with the session, so the sender gets
 * an ack instead of an echo). Validated whole; the error names the offending field.
 *
 * `originEndpoint` is the endpoint the event comes from: the WS room for a bridge room; for a
 * direct chat the token's own name (its party in the chat: the router checks it).
 */
export function buildEvent(input: Readonly<Record<string, unknown>>, session: Session, originEndpoint: string, room: string, now = Date.now(),
  options: { mayModerate?: boolean } = {}): BuildResult {
  for (const field of SERVER_FIELDS) {
    if (Object.hasOwn(input, field)) return { ok: false, message: `event.${field}: set by the server, must not be sent` };
  }
  // A moderator's removal of anyone's message (core/event.ts): only a moderator token's, in a room.
  if (Object.hasOwn(input, 'moderation') && options.mayModerate !== true) {
    return { ok: false, message: 'event.moderation: only a moderator token (websocket.tokens[].moderator), in a bridged room, may send it' };
  }
  const kind = input['kind'];
  if (typeof kind !== 'string' || !(SENDABLE_KINDS as readonly string[]).includes(kind)) {
    return { ok: false, message: `event.kind: must be one of ${SENDABLE_KINDS.join(', ')}` };
  }
  // A room's topic shows on every linked network, where only its moderators may set one (an XMPP
  // room's default, an MTProto group's admins): the same holds here.
  if (kind === 'topic' && options.mayModerate !== true) {
    return { ok: false, message: 'event.kind: topic: only a moderator token (websocket.tokens[].moderator), in a bridged room, may set the topic' };
  }
  const candidate = {
    ...input,
    v: 1,
    id: newEventId(now),
    ts: now,
    room,
    sender: {
      network: CONNECTOR,
      id: session.token.name,
      ...(session.token.displayName !== undefined ? { name: session.token.displayName } : {}),
    },
    origin: { connector: CONNECTOR, endpoint: originEndpoint, session: session.id },
  };
  const result = validateEvent(candidate);
  if (!result.ok) {
    const first = result.issues[0];
    return { ok: false, message: first ? formatIssue('event', first) : 'invalid event' };
  }
  return { ok: true, event: result.event };
}

/**
 * Publishes a client's event and acks it only once the bus holds it durably. Called in frame
 * order and not awaited to the end: the bus keeps the order of publish calls, so a session's
 * consecutive sends may be in flight together (the redis driver writes them as one batch) while
 * their acks still go out in order.
 *
 * With a `txn`, the send is a transaction of this token (Bus.publishOnce): a resend of it, on any
 * connection or instance, is acknowledged with the first event's id and `duplicate: true`, and
 * the room gets the event once.
 *
 * If the bus refuses or is down, the client gets `unavailable` and nothing was acknowledged. So
 * that a client resending what failed, in order, keeps its order, the session then publishes
 * nothing more: every later send gets `unavailable` too, and the connection is closed with 1013
 * once the answers are out (the bus also fails the publishes queued behind a failed write).
 */
export function publishFromClient(bus: Bus, session: Session, event: CanonicalEvent, txn: string | undefined, ref: string | undefined, wsRoom: string, metrics: WsMetrics, logger: Logger,
  onAccepted?: (event: CanonicalEvent) => void): Promise<void> {
  const work: Promise<{ id: string; duplicate: boolean }> = session.publishFailed
    ? Promise.reject(new Error('an earlier send of this connection was not accepted'))
    : txn === undefined
      ? bus.publish([event]).then(() => ({ id: event.id, duplicate: false }))
      : bus.publishOnce(event, { scope: `${CONNECTOR}:${session.token.name}`, id: txn });
  // In the rejection's own turn, before this session can publish anything else.
  work.catch(() => { session.publishFailed = true; });
  return session.answerInOrder(work, (outcome) => {
    if (!outcome.ok) {
      logger.warn({ err: outcome.error, session: session.id, eventId: event.id }, 'publish of a client event failed');
      session.sendError(ref, ErrorCode.Unavailable, 'the bus did not accept the event; reconnect and resend what was not acknowledged, in order', wsRoom);
      // Frames already read are answered (later sends: unavailable); then the connection goes.
      session.stopReading();
      void session.idle().then(() => session.close(CloseCode.TryAgainLater, 'bus unavailable'));
      return;
    }
    metrics.acks.inc();
    if (!outcome.value.duplicate) onAccepted?.(event);
    session.send({ type: 'ack', ...(ref !== undefined ? { ref } : {}), id: outcome.value.id, room: wsRoom, ...(outcome.value.duplicate ? { duplicate: true as const } : {}) });
  });
}
