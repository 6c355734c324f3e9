// Login codes to a person's linked accounts (mappings/identities.yaml): the way Telegram sends a
// code "through the app" to the person's other sessions, Switchboard sends it as a direct-chat
// message to their account on each network that takes direct chats (a WS token's `@mtproto:777000`
// chat, an XMPP chat from the puppet `mtproto.777000@<component>`), from the login service, user
// 777000 (Telegram's own service-notifications id; config refuses it for an account). The admin's
// `switchboard mtproto-code` still works, for people without a linked account.
import type { Bus } from '../../../bus/types.ts';
import { directRoom, type DirectParty } from '../../../core/direct.ts';
import type { RoutingView } from '../../../core/endpoint.ts';
import type { CanonicalEvent } from '../../../core/event.ts';
import { newEventId } from '../../../core/ids.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Identity } from '../../../config/mappings-schema.ts';
import { MTPROTO_LOGIN_SERVICE_ID } from '../../../config/schema.ts';
import type { Account } from './directory.ts';

const NETWORK = 'mtproto';
const SERVICE: DirectParty = { network: NETWORK, id: String(MTPROTO_LOGIN_SERVICE_ID) };
const SERVICE_NAME = 'Switchboard login';

export class CodeDelivery {
  /** MTProto user id -> the person's accounts on the other networks. */
  #linked = new Map<string, readonly DirectParty[]>();

  constructor(private readonly bus: Bus, private readonly routing: RoutingView, identities: readonly Identity[], private readonly logger: Logger) {
    this.setIdentities(identities);
  }

  /** mappings/identities.yaml as loaded (at start, and again on SIGHUP): where codes go from now on. */
  setIdentities(identities: readonly Identity[]): void {
    const linked = new Map<string, readonly DirectParty[]>();
    for (const identity of identities) {
      if (identity.mtproto === undefined) continue;
      const others: DirectParty[] = [];
      if (identity.websocket !== undefined) others.push({ network: 'websocket', id: identity.websocket });
      if (identity.xmpp !== undefined) others.push({ network: 'xmpp', id: identity.xmpp });
      if (others.length > 0) linked.set(identity.mtproto, others);
    }
    this.#linked = linked;
  }

  /**
   * Sends `code` to every linked account whose network delivers direct chats here; resolves with
   * those networks (empty: nobody to send it to). Never throws: a code that could not be sent
   * this way is still there for the admin's CLI, and the client's sendCode still succeeds.
   */
  async deliver(account: Account, code: string, ttlSeconds: number): Promise<string[]> {
    const reached: string[] = [];
    for (const party of this.#linked.get(String(account.id)) ?? []) {
      const room = directRoom(SERVICE, party);
      if (room === undefined) continue;
      const now = Date.now();
      const minutes = Math.max(1, Math.round(ttlSeconds / 60));
      const event: CanonicalEvent = {
        v: 1, id: newEventId(now), ts: now, kind: 'message', room,
        sender: { network: NETWORK, id: SERVICE.id, name: SERVICE_NAME },
        origin: { connector: NETWORK, endpoint: SERVICE.id },
        text: `Login code: ${code}. It logs your MTProto client in as ${account.firstName}, once, within ${minutes} minute${minutes === 1 ? '' : 's'}. Do not give it to anyone; if you did not ask for it, ignore this message.`,
      };
      // Only where it arrives: a network that does not run here, or takes no direct chats, gets nothing.
      if (!this.routing.route(event).some((ep) => ep.connector === party.network)) continue;
      try {
        await this.bus.publish([event]);
        reached.push(party.network);
      } catch (err) {
        this.logger.warn({ err, user: String(account.id), network: party.network }, 'mtproto login code not sent to the linked account (the admin\'s CLI still shows it)');
      }
    }
    return reached;
  }
}
