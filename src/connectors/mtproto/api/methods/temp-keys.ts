// auth.dropTempAuthKeys (core.telegram.org/api/pfs): a client that uses temporary keys (TDLib's
// watchdog does this) drops the ones it no longer uses: the temporary key bound to the calling
// permanent key goes unless the call lists it. Called on a bound temporary key, the call acts for
// its permanent key (session/temp-keys.ts), so the same holds; an unbound temporary key has none.
import type { AuthKeyStore } from '../../store/auth-key-store.ts';
import { authKeyIdBytes } from '../../store/auth-key-store.ts';
import type { KeyCache } from '../../session/key-cache.ts';
import type { MethodRegistry } from '../registry.ts';

export interface TempKeyMethodDeps {
  readonly keyStore: AuthKeyStore;
  readonly keyCache: KeyCache;
}

/** An auth_key_id as a TL long (the 8 bytes read little-endian), as hex of those bytes. */
function keyIdHex(id: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt.asIntN(64, id));
  return b.toString('hex');
}

export function registerTempKeyMethods(registry: MethodRegistry, deps: TempKeyMethodDeps): void {
  registry.register('auth.dropTempAuthKeys', {
    auth: 'none',
    handle: async (call, ctx) => {
      const listed = call['except_auth_keys'];
      const keep = new Set((Array.isArray(listed) ? listed : []).filter((v): v is bigint => typeof v === 'bigint').map(keyIdHex));
      const temp = await deps.keyStore.boundTemp(ctx.authKeyIdHex);
      if (temp !== undefined && !keep.has(temp)) {
        await deps.keyStore.delete(authKeyIdBytes(temp));
        deps.keyCache.delete(temp);
      }
      return true;
    },
  });
}
