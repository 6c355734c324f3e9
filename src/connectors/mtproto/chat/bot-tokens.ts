// Bot tokens for auth.importBotAuthorization, shaped like Telegram's: `<bot user id>:<secret>`,
// the secret 32 random bytes (base64url). Only `sha256:<hex>` of the whole token is stored in
// config.yaml (`switchboard token --mtproto-bot`); a presented token is hashed and compared with
// every bot's hash in constant time, no early exit.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Account } from './directory.ts';

const MAX_TOKEN_CHARS = 512;

export function generateBotToken(botId: number | bigint): string {
  return `${botId}:sb_${randomBytes(32).toString('base64url')}`;
}

export function hashBotToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** The bot whose token this is, or undefined. */
export function findBot(bots: readonly Account[], presented: string): Account | undefined {
  if (presented.length === 0 || presented.length > MAX_TOKEN_CHARS) return undefined;
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  let found: Account | undefined;
  for (const bot of bots) {
    const hex = bot.tokenHash?.startsWith('sha256:') === true ? bot.tokenHash.slice(7) : '';
    if (!/^[0-9a-f]{64}$/.test(hex)) continue;
    if (timingSafeEqual(Buffer.from(hex, 'hex'), digest) && found === undefined) found = bot;
  }
  return found;
}
