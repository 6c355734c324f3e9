// contacts.search: how an account finds someone to write to privately that it has not met in a
// group. Telegram searches its users by name and username; here that is the accounts, the people
// of mappings/identities.yaml (by canonical id, display name, or one of their accounts), and an
// exact address on another network (`xmpp:bob@example.org`, `websocket:carol`, or a bare JID).
// Only people a private chat can reach are found: their network runs here and takes direct chats
// (the router is asked, as a send would). Each person found becomes a user (remembered like a
// sender), with the access hash a private message to them needs.
import type { DirectParty } from '../../../../core/direct.ts';
import { directRoom } from '../../../../core/direct.ts';
import type { CanonicalEvent } from '../../../../core/event.ts';
import { newEventId } from '../../../../core/ids.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import type { Account } from '../directory.ts';
import { CONNECTOR, senderOf } from '../inbound.ts';
import { badRequest, intField, register, stringField, viewOf, type ChatDeps } from './common.ts';

/** Users one search answers at most. */
export const MAX_FOUND = 50;
const MAX_QUERY = 128;
/** The networks a person of identities.yaml is tried on, in this order (their MTProto account is an account). */
const PERSON_NETWORKS = ['websocket', 'xmpp'] as const;
const BARE_JID = /^[^@/\s:]+@[^@/\s]+$/;

/** Whether a private chat of `account` with `party` reaches them: the router sends its events there. */
function reaches(deps: ChatDeps, account: Account, party: DirectParty): boolean {
  const room = directRoom({ network: CONNECTOR, id: String(account.id) }, party);
  if (room === undefined) return false;
  const probe = { v: 1, id: newEventId(), ts: Date.now(), room, kind: 'typing', state: 'active', sender: senderOf(account), origin: { connector: CONNECTOR, endpoint: String(account.id) } } as CanonicalEvent;
  return deps.routing.route(probe).some((ep) => ep.connector === party.network && ep.address === party.id);
}

/** The party an exact address names (`<network>:<id>` of another network, or a bare JID). */
function addressOf(q: string): DirectParty | undefined {
  const colon = q.indexOf(':');
  if (colon > 0 && colon < q.length - 1) {
    const network = q.slice(0, colon);
    return network === CONNECTOR ? undefined : { network, id: q.slice(colon + 1) };
  }
  return BARE_JID.test(q) ? { network: 'xmpp', id: q } : undefined;
}

export function registerContacts(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'contacts.search', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    const q = (stringField(call, 'q') ?? '').trim();
    if (q.length === 0) throw badRequest('QUERY_TOO_SHORT');
    if (q.length > MAX_QUERY) throw badRequest('QUERY_TOO_LONG');
    const limitIn = intField(call, 'limit');
    const limit = limitIn <= 0 ? MAX_FOUND : Math.min(limitIn, MAX_FOUND);
    const lower = q.toLocaleLowerCase();
    const found: bigint[] = [];
    const add = (id: bigint) => { if (found.length < limit && !found.includes(id)) found.push(id); };

    for (const a of deps.directory.accounts) {
      if (a.id !== account.id && [a.firstName, a.lastName, a.username].some((v) => v !== undefined && v.toLocaleLowerCase().includes(lower))) add(a.id);
    }
    // People as parties of a private chat: an exact address, and each person of identities.yaml
    // on their first network a private chat reaches (their account here, if they have one).
    const exact = addressOf(q);
    const people: { parties: DirectParty[]; name?: string }[] = exact === undefined ? [] : [{ parties: [exact] }];
    for (const identity of deps.people.identitiesMatching(lower)) {
      const own = identity.mtproto === undefined ? undefined : deps.directory.account(BigInt(identity.mtproto));
      if (own !== undefined) {
        if (own.id !== account.id) add(own.id);
        continue;
      }
      const parties = PERSON_NETWORKS.flatMap((network) => { const id = identity[network]; return id === undefined ? [] : [{ network, id }]; });
      people.push({ parties, ...(identity.displayName !== undefined ? { name: identity.displayName } : {}) });
    }
    for (const { parties, name } of people) {
      if (found.length >= limit) break;
      const linked = parties.map((p) => deps.people.accountOf(p)).find((a) => a !== undefined);
      if (linked !== undefined) {
        if (linked.id !== account.id) add(linked.id);
        continue;
      }
      const party = parties.find((p) => reaches(deps, account, p));
      if (party !== undefined) add(await deps.people.senderIdOf({ network: party.network, id: party.id, ...(name !== undefined ? { name } : {}) }));
    }
    return {
      _: 'contacts.found', my_results: [], results: found.map((id) => ({ _: 'peerUser', user_id: id })), chats: [],
      users: await deps.render.users(found, view),
    };
  });
}
