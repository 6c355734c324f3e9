import { canonicalParty } from '../core/direct.ts';
import type { Actor } from '../core/event.ts';
import { LIMITS } from '../core/event.ts';
import type { Capabilities } from '../core/capabilities.ts';
import type { LinkedIdentity, MapperTables } from './tables.ts';
import type { TargetIdentity } from './types.ts';
import { truncate } from './text.ts';

/** Rendered identities kept per resolver (one table version); enough for every active sender x target. */
const CACHE_LIMIT = 10_000;

/**
 * Who a sender is on a target network: the linked person of mappings/identities.yaml (one
 * canonical id for all their accounts) or a stable puppet of the sending account, with the
 * display name rendered from the target's template. A pure function of the tables and the event
 * (so every instance renders the same name), memoised because it runs for every delivery.
 */
export class IdentityResolver {
  private readonly byAccount = new Map<string, LinkedIdentity>();
  /** Per target network (and avatars or not), per sending account: the last rendering, with the name and avatar it was made from. */
  private readonly cache = new Map<string, Map<string, { name: string | undefined; avatar: string | undefined; identity: TargetIdentity }>>();
  private cached = 0;

  constructor(private readonly tables: MapperTables) {
    for (const identity of tables.identities) {
      for (const [network, id] of Object.entries(identity.accounts)) this.byAccount.set(accountKey(network, id), identity);
    }
  }

  /** The linked person an account belongs to, if any. */
  linkedOf(sender: Pick<Actor, 'network' | 'id'>): LinkedIdentity | undefined {
    return this.byAccount.get(accountKey(sender.network, sender.id));
  }

  /** The sender as `targetNetwork` should show them. */
  resolve(sender: Actor, targetNetwork: string, capabilities: Capabilities): TargetIdentity {
    const avatars = capabilities.avatars === true;
    const targetKey = avatars ? `${targetNetwork}+avatars` : targetNetwork;
    let perTarget = this.cache.get(targetKey);
    if (!perTarget) this.cache.set(targetKey, perTarget = new Map());
    const senderKey = `${sender.network}\0${sender.id}`;
    const hit = perTarget.get(senderKey);
    if (hit && hit.name === sender.name && hit.avatar === sender.avatar) return hit.identity;
    const identity = this.render(sender, targetNetwork, avatars);
    if (!hit && ++this.cached > CACHE_LIMIT) { // cheap bound; a miss only renders again
      this.cache.clear();
      this.cached = 1;
      this.cache.set(targetKey, perTarget = new Map());
    }
    perTarget.set(senderKey, { name: sender.name, avatar: sender.avatar, identity });
    return identity;
  }

  private render(sender: Actor, targetNetwork: string, avatars: boolean): TargetIdentity {
    const linked = this.linkedOf(sender);
    const { displayNames } = this.tables;
    const template = displayNames.byTarget[targetNetwork] ?? displayNames.default;
    const name = linked?.displayName ?? (sender.name !== undefined && sender.name.trim() !== '' ? sender.name : undefined) ?? linked?.canonical ?? sender.id;
    const values: Record<string, string> = {
      name,
      network: displayNames.networkNames[sender.network] ?? sender.network,
      id: sender.id,
      canonical: linked?.canonical ?? sender.id,
    };
    // One pass over the template: a name containing `{id}` is shown as written, never expanded.
    const displayName = truncate(template.replace(/\{(name|network|id|canonical)\}/g, (_, key: string) => values[key] ?? ''), LIMITS.nameChars);
    const avatar = avatars ? (linked?.avatar ?? sender.avatar) : undefined;
    const account = linked?.accounts[targetNetwork];
    return {
      key: linked ? linked.canonical : `${sender.network}:${sender.id}`,
      ...(linked ? { canonical: linked.canonical } : {}),
      displayName: displayName.trim() === '' ? truncate(sender.id, LIMITS.nameChars) : displayName,
      ...(avatar !== undefined ? { avatar } : {}),
      ...(account !== undefined ? { account } : {}),
    };
  }
}

/**
 * One spelling per account for the identity lookup: XMPP addresses are compared as bare JIDs,
 * case-insensitively (local part and domain are case-folded by their profiles, RFC 7622), so
 * `Alice@Example.org/phone` is the person of `alice@example.org`. (An unlinked sender's puppet
 * key keeps the id as the connector gave it: a MUC occupant JID differs from its room's only in
 * the resource.)
 */
export function normalizeAccount(network: string, id: string): string {
  if (network !== 'xmpp') return id;
  const slash = id.indexOf('/');
  // The spelling direct chats use too (core/direct.ts): one rule for "the same XMPP account".
  return canonicalParty({ network, id: slash === -1 ? id : id.slice(0, slash) }).id;
}

function accountKey(network: string, id: string): string {
  return `${network}\0${normalizeAccount(network, id)}`;
}
