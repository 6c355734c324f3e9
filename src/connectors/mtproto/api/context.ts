import type { Logger } from '../../../core/logger.ts';
import type { TlSchema } from '../tl/schema.ts';
import type { ClientInfo } from './client-info.ts';

/** Who is logged in on an auth key. Login lands later; until then no key has one. */
export interface AuthorizedUser {
  readonly userId: bigint;
  readonly bot: boolean;
}

/** Resolves the user logged in on an auth key (the login part of the connector provides it). */
export interface AuthorizationLookup {
  userOf(authKeyIdHex: string): Promise<AuthorizedUser | undefined>;
}

export const noAuthorizations: AuthorizationLookup = {
  userOf: async () => undefined,
};

/** What a method handler knows about the call it answers. */
export interface ApiCallContext {
  readonly authKeyId: Uint8Array;
  readonly authKeyIdHex: string;
  readonly sessionId: bigint;
  /** msg_id of the client message that carried the call. */
  readonly msgId: bigint;
  /** The layer the client announced with invokeWithLayer (undefined: never on this auth key). */
  readonly announcedLayer: number | undefined;
  /** The known layer the answer is encoded in (ApiLayers.pick of the announced one). */
  readonly layer: number;
  /** That layer's schema: `schema.byName.has(name)` tells a handler what the client can decode. */
  readonly schema: TlSchema;
  /** initConnection's data for this auth key, if the client sent it. */
  readonly client: ClientInfo | undefined;
  /** The logged-in user; undefined before login. */
  readonly user: AuthorizedUser | undefined;
  readonly logger: Logger;
  /** Unix time in seconds (the server clock handlers should use). */
  readonly now: number;
}
