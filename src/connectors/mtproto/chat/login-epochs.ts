// When config.yaml takes an account away, or changes what it logs in with (a bot's token, a
// person's phone), every login it had ends, as Telegram ends a terminated session. The state
// cannot list a bot's logins (no list is kept of them: login-list.ts), so a login carries what
// makes it valid instead, checked at each lookup (authorizations.ts):
//
//  - `cred`: a fingerprint of the credential it was made with. A login whose credential is no
//    longer the account's (as this instance's config has it) does not hold: an instance that
//    reloaded refuses an old token's login at once, also one made on an instance that lagged.
//  - `epoch`: the account's login epoch when it was made (`epoch:<account>`, shared). A reload
//    that removes an account or changes its credential raises it, once per change across the
//    instances (compare-and-set on the credential it moved to), so every login made before is
//    over for good, on every instance, across restarts, and also if the account comes back with
//    the same credential (a removed account's sessions do not return with it).
import { createHash } from 'node:crypto';
import type { StateStore } from '../../../bus/types.ts';
import type { Account } from './directory.ts';

/** An account's login epoch as last raised, and the credential it was raised to ('' when the account was removed). */
interface EpochRecord {
  readonly epoch: number;
  readonly cred: string;
}

const CACHE_MS = 5_000;

/** What an account logs in with, as a short fingerprint (no token hash or phone number is stored in the clear beside the logins). */
export function credentialOf(account: Account | undefined): string {
  if (account === undefined) return '';
  const what = account.bot ? `bot:${account.tokenHash ?? ''}` : `phone:${account.phone ?? ''}`;
  return createHash('sha256').update(what, 'utf8').digest('hex').slice(0, 32);
}

function parseRecord(raw: string | undefined): EpochRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<EpochRecord>;
    return typeof v.epoch === 'number' && Number.isSafeInteger(v.epoch) && v.epoch >= 0 && typeof v.cred === 'string' ? { epoch: v.epoch, cred: v.cred } : undefined;
  } catch {
    return undefined;
  }
}

export class LoginEpochs {
  readonly #cache = new Map<bigint, { epoch: number; until: number }>();
  /**
   * Raises this instance started and has not finished: a login or lookup of the account waits for
   * them, so a login made just after the reload (the bot restarted with its new token at once) is
   * made in the new epoch, never in the old one the raise then voids.
   */
  readonly #raising = new Map<bigint, Promise<unknown>>();

  constructor(private readonly state: StateStore, private readonly now: () => number = Date.now) {}

  /** The account's login epoch now (0: never raised). Cached a few seconds, like logins (a raise here drops it at once). */
  async of(account: bigint): Promise<number> {
    await this.#raising.get(account)?.catch(() => undefined);
    const cached = this.#cache.get(account);
    if (cached !== undefined && cached.until > this.now()) return cached.epoch;
    const epoch = parseRecord(await this.state.get(`epoch:${account}`))?.epoch ?? 0;
    this.#cache.set(account, { epoch, until: this.now() + CACHE_MS });
    return epoch;
  }

  /**
   * Ends every login of the account made so far: its epoch is raised, unless another instance's
   * reload already raised it to this same credential (`cred`; '' for a removed account). With
   * nothing recorded yet, `unrecorded` says whether there is something to end (an account removed
   * or whose credential changed: yes; one added: no, it had no logins unless it was removed
   * before, which the record then says). Answers whether this call raised it. Call it at once
   * (synchronously with the reload): logins wait for it from then on.
   */
  raise(account: bigint, cred: string, unrecorded: boolean): Promise<boolean> {
    const run = (this.#raising.get(account) ?? Promise.resolve()).catch(() => undefined).then(() => this.#raise(account, cred, unrecorded));
    const settled = run.finally(() => {
      if (this.#raising.get(account) === settled) this.#raising.delete(account);
    });
    this.#raising.set(account, settled);
    return run;
  }

  async #raise(account: bigint, cred: string, unrecorded: boolean): Promise<boolean> {
    const key = `epoch:${account}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const raw = await this.state.get(key);
      const stored = parseRecord(raw);
      this.#cache.delete(account);
      if (stored === undefined ? !unrecorded : stored.cred === cred) return false;
      const next = JSON.stringify({ epoch: (stored?.epoch ?? 0) + 1, cred } satisfies EpochRecord);
      const won = raw === undefined ? await this.state.setIfAbsent(key, next) : await this.state.replace(key, raw, next);
      if (won) return true;
    }
    throw new Error(`the login epoch of account ${account} kept changing under this reload`);
  }

  /** Another instance raised an epoch: the copy here goes. */
  forget(account: bigint): void {
    this.#cache.delete(account);
  }
}
