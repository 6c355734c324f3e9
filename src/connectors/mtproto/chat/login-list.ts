// The auth keys an account is logged in on (`logins:<account>` in the chat state), with what
// each client said about itself when it logged in: the list behind account.getAuthorizations
// ("active sessions"), and what account.resetAuthorization / auth.resetAuthorizations log out.
// Each entry gets a random `hash` of its own: clients name a session by it, never by its key.
// The list is an index: `auth:<key>` (authorizations.ts) decides whether a login holds, so an
// entry whose key expired or logged in as someone else meanwhile is left out when read.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ClientInfo } from '../api/client-info.ts';
import { parseJsonAs } from './json-record.ts';

/** Logins kept per account; a login past this logs the oldest one out (it is not just hidden). */
export const MAX_LOGINS = 100;

const EntrySchema = z.object({
  key: z.string().regex(/^[0-9a-f]{16}$/),
  hash: z.string().regex(/^[1-9]\d{0,18}$/),
  at: z.number().int().nonnegative(),
  apiId: z.number().int().optional(),
  device: z.string().max(256).optional(),
  system: z.string().max(256).optional(),
  app: z.string().max(256).optional(),
  langPack: z.string().max(256).optional(),
});
export type LoginEntry = z.infer<typeof EntrySchema>;

const ListSchema = z.array(EntrySchema).max(MAX_LOGINS * 2);

export const loginsKey = (accountId: bigint): string => `logins:${accountId}`;

/** A stored list; anything unreadable is an empty one (the logins themselves are `auth:` records). */
export function parseLogins(raw: string | undefined): LoginEntry[] {
  return parseJsonAs(ListSchema, raw) ?? [];
}

/** A positive 63-bit id, as a decimal string (the `long` hash clients get). */
function newHash(): string {
  const n = randomBytes(8).readBigUInt64BE() & 0x7fff_ffff_ffff_ffffn;
  return String(n === 0n ? 1n : n);
}

export function loginEntry(key: string, at: number, client: ClientInfo | undefined): LoginEntry {
  return {
    key, hash: newHash(), at,
    ...(client !== undefined ? { apiId: client.apiId, device: client.deviceModel, system: client.systemVersion, app: client.appVersion, langPack: client.langPack } : {}),
  };
}

/** The list with `entry` (replacing one of the same key), and the oldest ones it pushed out. */
export function withLogin(list: readonly LoginEntry[], entry: LoginEntry): { list: LoginEntry[]; evicted: LoginEntry[] } {
  const rest = list.filter((e) => e.key !== entry.key).sort((a, b) => a.at - b.at);
  const evicted = rest.length >= MAX_LOGINS ? rest.slice(0, rest.length - MAX_LOGINS + 1) : [];
  return { list: [...rest.slice(evicted.length), entry], evicted };
}

export function withoutLogins(list: readonly LoginEntry[], keys: ReadonlySet<string>): LoginEntry[] | undefined {
  const kept = list.filter((e) => !keys.has(e.key));
  return kept.length === list.length ? undefined : kept;
}
