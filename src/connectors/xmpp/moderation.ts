import xml from '@xmpp/xml';
import type { Element } from '@xmpp/xml';
import { NS } from './ns.ts';
import { IqErrorReply } from './component-link.ts';

/**
 * XEP-0425 from the bridge's side: a moderator's removal from another network (a WS moderator
 * token, another linked room's moderator) of a message an XMPP user said in a linked room. The
 * relay, as an occupant with the moderator role there, asks the room to retract it; the room
 * checks the role, retracts it for every occupant and announces it (the announcement names the
 * relay, so it is recognised as ours when it comes back). A puppet's message is also retracted by
 * its puppet first (outbound.ts): clients show either a sender's retraction or a moderation.
 */

/** Which XEP-0425 a room speaks, from its disco#info features: 0.3 (`:1`) preferred, else 0.2 (`:0`). */
export type ModerationForm = 'v1' | 'v0';

export function moderationFormOf(features: readonly string[]): ModerationForm | undefined {
  if (features.includes(NS.moderate)) return 'v1';
  if (features.includes(NS.moderateLegacy)) return 'v0';
  return undefined;
}

/** The request to retract the room message with this stanza-id, in the room's form. */
export function buildModerationRequest(form: ModerationForm, from: string, room: string, stanzaId: string, reason: string | undefined): Element {
  const why = reason !== undefined ? [xml('reason', {}, reason)] : [];
  const request = form === 'v1'
    ? xml('moderate', { xmlns: NS.moderate, id: stanzaId }, xml('retract', { xmlns: NS.retract }), ...why)
    : xml('apply-to', { xmlns: NS.fasten, id: stanzaId }, xml('moderate', { xmlns: NS.moderateLegacy }, xml('retract', { xmlns: NS.retractLegacy }), ...why));
  return xml('iq', { type: 'set', from, to: room }, request);
}

export interface ModerationDeps {
  /** The relay's occupant JID (what the room knows its role by). */
  relayJid: string;
  request(iq: Element): Promise<Element>;
}

/** What came of asking: done, or why not (the room's error condition, or that it has no moderation). */
export type ModerationOutcome = { done: true } | { done: false; why: string };

/**
 * Asks the room to retract a message: its stanza-ids, the message's own first, then its further
 * pieces (a puppet's message sent as several). The room's features are asked once per removal
 * (removals are rare, and a room's modules can change under a running bridge). The outcome is the
 * first id's; the pieces follow only when it was done. A timeout or a lost stream throws (the
 * delivery is retried); a refusal is an outcome.
 */
export async function moderateInRoom(deps: ModerationDeps, room: string, stanzaIds: readonly string[], reason: string | undefined): Promise<ModerationOutcome> {
  const info = await deps.request(xml('iq', { type: 'get', from: deps.relayJid, to: room }, xml('query', { xmlns: NS.discoInfo })));
  const features = info.getChild('query', NS.discoInfo)?.getChildren('feature').map((f) => f.attrs['var'] ?? '') ?? [];
  const form = moderationFormOf(features);
  if (form === undefined) return { done: false, why: 'the room has no message moderation (XEP-0425)' };
  for (const [i, stanzaId] of stanzaIds.entries()) {
    try {
      await deps.request(buildModerationRequest(form, deps.relayJid, room, stanzaId, reason));
    } catch (err) {
      if (!(err instanceof IqErrorReply)) throw err;
      if (i === 0) return { done: false, why: `the room answered ${err.condition}` };
      // A piece the room no longer has (its archive pruned): the message itself is gone.
    }
  }
  return { done: true };
}
