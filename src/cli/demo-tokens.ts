import { isIP } from 'node:net';
import type { Config } from '../config/schema.ts';
import { hashToken } from '../connectors/websocket/tokens.ts';

/**
 * The demo tokens of config.example.yaml. They are published (README), so the only safe place for
 * them is a loopback listener: `start` prints them so a newcomer can connect at once, and both
 * `start` and `check` refuse them when http.host is reachable from elsewhere.
 */
export const DEMO_TOKENS: readonly { readonly name: string; readonly token: string }[] = [
  { name: 'demo-alice', token: 'sb_demo_alice_NOT_SECRET_replace_me' },
  { name: 'demo-bot', token: 'sb_demo_bot_NOT_SECRET_replace_me' },
];

/** The demo tokens this config accepts (matched by hash, whatever name they were given). */
export function configuredDemoTokens(config: Config): { name: string; token: string }[] {
  const hashes = new Map(config.websocket.tokens.map((t) => [t.hash, t.name]));
  return DEMO_TOKENS.flatMap((demo) => {
    const name = hashes.get(hashToken(demo.token));
    return name === undefined ? [] : [{ name, token: demo.token }];
  });
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
