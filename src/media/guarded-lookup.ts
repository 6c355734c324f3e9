import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.ts';
import { MediaError, MediaErrorCode } from './errors.ts';

/** Name -> addresses. Injected in tests; the system resolver (getaddrinfo) otherwise. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolver: Resolver = async (hostname) => await dns.lookup(hostname, { all: true, verbatim: true });

/**
 * A `lookup` for net/http/https that resolves once and hands the socket only addresses the
 * policy allows. The socket connects to exactly what this returned, so the address that was
 * checked is the address that is connected to: a DNS answer that changes between a check and
 * the connect (DNS rebinding) has nothing to slip through. Forbidden addresses among allowed ones
 * are dropped; a name with only forbidden addresses fails with forbidden_address.
 */
export function guardedLookup(policy: AddressPolicy, resolver: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    resolver(hostname).then((found) => {
      const family = options.family === 4 || options.family === 6 ? options.family : undefined;
      const candidates = found.filter((a) => family === undefined || a.family === family);
      const allowed = candidates.filter((a) => policy.allows(a.address));
      if (allowed.length === 0) {
        const first = candidates[0];
        const why = first ? `${hostname} resolves to ${first.address} (${policy.check(first.address).range})` : `${hostname} has no address`;
        const err = new MediaError(first ? MediaErrorCode.ForbiddenAddress : MediaErrorCode.Unreachable, `refused to fetch: ${why}`);
        callback(err as NodeJS.ErrnoException, '', 0);
        return;
      }
      if (options.all === true) callback(null, allowed.map((a) => ({ address: a.address, family: a.family })));
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    }, (err: unknown) => {
      callback(new MediaError(MediaErrorCode.Unreachable, `cannot resolve ${hostname}`, { cause: err }) as NodeJS.ErrnoException, '', 0);
    });
  };
}
