// contacts.search: how an account finds someone to write to privately that it has not met in a
// group (and its own contacts by the names it saved them under, first). Telegram searches its users by name and username; here that is the accounts, the people
// of mappings/identities.yaml (by canonical id, display name, or one of their accounts), and an
// exact address on another network (`xmpp:bob@example.org`, `websocket:carol`, or a bare JID).
// Only people a private chat can reach are found: their network runs here and takes direct chats
// (the router is asked, as a send would). Each person found becomes a user (remembered like a
// sender), with the access hash a private message to them needs.
import type { DirectParty } from '../../../../core/direct.ts';
import { directReach, directRoom } from '../../../../core/direct.ts';
import type { CanonicalEvent } from '../../../../core/event.ts';
import { newEventId } from '../../../../core/ids.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import type { Identity } from '../../../../config/load.ts';
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
  return directReach(deps.routing, probe, party) === 'reaches';
}

/**
 * The party an exact address names (`<network>:<id>` of another network, or a bare JID). A JID in
 * lower case: XMPP addresses are, and its direct chat is the one of its canonical form (as the
 * XMPP connector answers from it).
 */
function addressOf(q: string): DirectParty | undefined {
  const colon = q.indexOf(':');
  const [network, id] = colon > 0 && colon < q.length - 1 ? [q.slice(0, colon), q.slice(colon + 1)] : BARE_JID.test(q) ? ['xmpp', q] : [undefined, undefined];
  if (network === undefined || id === undefined || network === CONNECTOR) return undefined;
  return { network, id: network === 'xmpp' ? id.toLowerCase() : id };
}

/** Someone to write to: the parties a private chat with them could have, in order, and the name to show. */
interface Someone {
  readonly parties: readonly DirectParty[];
  readonly name?: string;
}

/** A person of identities.yaml as someone to write to: their account here first, then their other networks. */
export function someoneOf(identity: Identity): Someone {
  const parties = (['mtproto', ...PERSON_NETWORKS] as const).flatMap((network) => { const id = identity[network]; return id === undefined ? [] : [{ network, id }]; });
  return { parties, ...(identity.displayName !== undefined ? { name: identity.displayName } : {}) };
}

/**
 * The user `account` writes to for someone: their account here if they have one, else a user for
 * the first of their parties a private chat reaches (remembered like a sender); undefined when
 * none does.
 */
export async function userFor(deps: ChatDeps, account: Account, someone: Someone): Promise<bigint | undefined> {
  const own = someone.parties.map((p) => deps.people.accountOf(p)).find((a) => a !== undefined);
  if (own !== undefined) return own.id;
  const party = someone.parties.find((p) => p.network !== CONNECTOR && reaches(deps, account, p));
  if (party === undefined) return undefined;
  return deps.people.senderIdOf({ network: party.network, id: party.id, ...(someone.name !== undefined ? { name: someone.name } : {}) });
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
    // The account's own contacts by the names it saved them under come first, as Telegram lists them (my_results).
    const mine = (await deps.contacts.listOf(account.id))
      .filter((c) => [c.first, c.last].some((n) => n.toLocaleLowerCase().includes(lower)))
      .slice(0, limit).map((c) => BigInt(c.id));
    const found: bigint[] = [];
    const add = (id: bigint | undefined) => { if (id !== undefined && id !== account.id && found.length + mine.length < limit && !found.includes(id) && !mine.includes(id)) found.push(id); };

    for (const a of deps.directory.accounts.map((c) => deps.profiles.shown(c))) {
      if ([a.firstName, a.lastName, a.username].some((v) => v !== undefined && v.toLocaleLowerCase().includes(lower))) add(a.id);
    }
    // An exact address, then the people of identities.yaml the query names.
    const exact = addressOf(q);
    const people = [...(exact === undefined ? [] : [{ parties: [exact] }]), ...deps.people.identitiesMatching(lower).map(someoneOf)];
    for (const someone of people) {
      if (found.length >= limit) break;
      add(await userFor(deps, account, someone));
    }
    return {
      _: 'contacts.found', my_results: mine.map((id) => ({ _: 'peerUser', user_id: id })), results: found.map((id) => ({ _: 'peerUser', user_id: id })), chats: [],
      users: await deps.render.users([...mine, ...found], view),
    };
  });
}
