// Users as MTProto clients see them: the provisioned accounts (their configured ids) and everyone
// who writes from another network, as a user with a stable id derived from who they are: the
// canonical id of a person linked in mappings/identities.yaml (one user whichever network they
// write from), else `<network>:<id>` of the sender (the mapper's TargetIdentity.key, and its
// display name, when the mapper is on). A linked person with an MTProto account of their own
// appears as that account. Derived ids live in 2^39 ..< 2^40 (accounts stay below).
import { createHash } from 'node:crypto';
import type { StateStore } from '../../../bus/types.ts';
import type { Identity } from '../../../config/load.ts';
import type { Actor } from '../../../core/event.ts';
import type { Logger } from '../../../core/logger.ts';
import type { TargetIdentity } from '../../../mapper/types.ts';
import type { Account, Directory } from './directory.ts';
import type { MentionResolver } from './entities.ts';
import { clip } from '../../../core/text.ts';

export const PUPPET_ID_BASE = 2n ** 39n;
const PUPPET_CACHE = 10_000;

/** A person of another network, remembered so `users.getUsers` can answer for their id. */
export interface Puppet {
  readonly id: bigint;
  /** What the id derives from: the canonical id of a linked person, else `<network>:<id>`. */
  readonly key: string;
  readonly name: string;
  readonly network: string;
  /** Their id on their network (for mentions back). */
  readonly nativeId: string;
  readonly avatar?: string;
}

export type Person = { readonly kind: 'account'; readonly account: Account } | { readonly kind: 'puppet'; readonly puppet: Puppet };

export function puppetIdOf(key: string): bigint {
  const digest = createHash('sha256').update(`switchboard-mtproto-user:${key}`, 'utf8').digest();
  return PUPPET_ID_BASE + (digest.readBigUInt64BE(0) & (PUPPET_ID_BASE - 1n));
}

export class People implements MentionResolver {
  readonly #puppets = new Map<bigint, Puppet>();
  /** `<network>:<id>` of a linked account -> its identity. */
  #links = new Map<string, Identity>();
  #identities: readonly Identity[] = [];

  constructor(private readonly directory: Directory, identities: readonly Identity[], private readonly state: StateStore, private readonly logger: Logger) {
    this.setIdentities(identities);
  }

  /** mappings/identities.yaml as loaded (at start, and again on SIGHUP): who is linked to whom from now on. */
  setIdentities(identities: readonly Identity[]): void {
    const links = new Map<string, Identity>();
    for (const identity of identities) {
      for (const network of ['websocket', 'xmpp', 'mtproto'] as const) {
        const id = identity[network];
        if (id !== undefined) links.set(`${network}:${id}`, identity);
      }
    }
    this.#links = links;
    this.#identities = identities;
  }

  /** The person of mappings/identities.yaml whose canonical id is `name` (letter case aside). */
  identityNamed(name: string): Identity | undefined {
    const lower = name.toLocaleLowerCase();
    return this.#identities.find((i) => i.canonical.toLocaleLowerCase() === lower);
  }

  /** The people of mappings/identities.yaml whose canonical id, display name or one of whose accounts contains `q` (lower case). */
  identitiesMatching(q: string): Identity[] {
    return this.#identities.filter((i) => [i.canonical, i.displayName, i.websocket, i.xmpp].some((v) => v !== undefined && v.toLocaleLowerCase().includes(q)));
  }

  /** The MTProto account an actor is, if any (its own, or the one its linked identity names). */
  accountOf(actor: Pick<Actor, 'network' | 'id'>): Account | undefined {
    if (actor.network === 'mtproto' && /^\d{1,15}$/.test(actor.id)) return this.directory.account(BigInt(actor.id));
    const linked = this.#links.get(`${actor.network}:${actor.id}`)?.mtproto;
    return linked === undefined ? undefined : this.directory.account(BigInt(linked));
  }

  /** The avatar identities.yaml gives the person an account belongs to, if any. */
  avatarOfAccount(account: Account): string | undefined {
    return this.#links.get(`mtproto:${account.id}`)?.avatar;
  }

  /** The key a non-account actor's user id derives from (the same as the mapper's TargetIdentity.key). */
  keyOf(actor: Pick<Actor, 'network' | 'id'>): string {
    const identity = this.#links.get(`${actor.network}:${actor.id}`);
    return identity !== undefined ? identity.canonical : `${actor.network}:${actor.id}`;
  }

  /** The user id of an event's sender, nothing remembered (senderIdOf remembers a new person too). */
  senderIdNow(actor: Actor, identity?: TargetIdentity): bigint {
    const linkedAccount = identity?.account !== undefined && /^\d{1,15}$/.test(identity.account) ? this.directory.account(BigInt(identity.account)) : undefined;
    const account = linkedAccount ?? this.accountOf(actor);
    return account !== undefined ? account.id : puppetIdOf(identity?.key ?? this.keyOf(actor));
  }

  /**
   * The user id of an event's sender, remembering a person of another network (persisted before
   * it is shown). `identity` is the mapper's view of the sender when the mapper is on.
   */
  async senderIdOf(actor: Actor, identity?: TargetIdentity): Promise<bigint> {
    const linkedAccount = identity?.account !== undefined && /^\d{1,15}$/.test(identity.account) ? this.directory.account(BigInt(identity.account)) : undefined;
    const account = linkedAccount ?? this.accountOf(actor);
    if (account !== undefined) return account.id;
    const key = identity?.key ?? this.keyOf(actor);
    const id = puppetIdOf(key);
    const linked = this.#links.get(`${actor.network}:${actor.id}`);
    const name = clip(identity?.displayName ?? linked?.displayName ?? actor.name ?? actor.id, 64) || clip(actor.id, 64);
    // The mapper's choice when it is on (identities.yaml, else the network's); the same rule without it.
    const avatar = identity !== undefined ? identity.avatar : linked?.avatar ?? actor.avatar;
    const known = await this.puppet(id);
    if (known === undefined || known.name !== name || known.avatar !== avatar) {
      const puppet: Puppet = { id, key, name, network: actor.network, nativeId: actor.id, ...(avatar !== undefined ? { avatar } : {}) };
      await this.state.set(`user:${id}`, JSON.stringify({ ...puppet, id: String(id) }));
      this.#remember(puppet);
    }
    return id;
  }

  #remember(puppet: Puppet): void {
    this.#puppets.delete(puppet.id);
    this.#puppets.set(puppet.id, puppet);
    if (this.#puppets.size > PUPPET_CACHE) {
      const oldest = this.#puppets.keys().next();
      if (oldest.done !== true) this.#puppets.delete(oldest.value);
    }
  }

  async puppet(id: bigint): Promise<Puppet | undefined> {
    const cached = this.#puppets.get(id);
    if (cached !== undefined) return cached;
    if (id < PUPPET_ID_BASE) return undefined;
    let raw: string | undefined;
    try {
      raw = await this.state.get(`user:${id}`);
    } catch (err) {
      this.logger.warn({ err, id: String(id) }, 'mtproto: reading a user failed');
      return undefined;
    }
    if (raw === undefined) return undefined;
    const stored = JSON.parse(raw) as Omit<Puppet, 'id'> & { id: string };
    const puppet: Puppet = { ...stored, id: BigInt(stored.id) };
    this.#remember(puppet);
    return puppet;
  }

  async person(id: bigint): Promise<Person | undefined> {
    const account = this.directory.account(id);
    if (account !== undefined) return { kind: 'account', account };
    const puppet = await this.puppet(id);
    return puppet === undefined ? undefined : { kind: 'puppet', puppet };
  }

  /** The canonical actor an MTProto user stands for: `mtproto:<id>` for accounts, the original sender for puppets. */
  userRef(userId: bigint): string | undefined {
    if (this.directory.account(userId) !== undefined) return `mtproto:${userId}`;
    const puppet = this.#puppets.get(userId);
    return puppet === undefined ? undefined : `${puppet.network}:${puppet.nativeId}`;
  }

  /** The MTProto user a canonical mention (`<network>:<id>`) points at. */
  userIdOf(ref: string): bigint | undefined {
    const colon = ref.indexOf(':');
    if (colon <= 0) return undefined;
    const actor = { network: ref.slice(0, colon), id: ref.slice(colon + 1) };
    const account = this.accountOf(actor);
    if (account !== undefined) return account.id;
    const id = puppetIdOf(this.keyOf(actor));
    return this.#puppets.has(id) ? id : undefined;
  }
}
