import { isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { ConfigIssue, LoadedConfig } from '../../config/load.ts';
import { lineAt } from '../../config/yaml-file.ts';
import { hashToken } from './tokens.ts';

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

/** A published demo token on a listener reachable from elsewhere: refused by check, start and every reload. */
export function demoTokenIssues(loaded: LoadedConfig): ConfigIssue[] {
  if (isLoopbackHost(loaded.config.http.host)) return [];
  return configuredDemoTokens(loaded.config).map((demo) => {
    const i = loaded.config.websocket.tokens.findIndex((t) => t.name === demo.name);
    return {
      file: loaded.configFile,
      line: loaded.configSource ? lineAt(loaded.configSource, ['websocket', 'tokens', i, 'hash']) : 0,
      path: `websocket.tokens.${i}.hash`,
      message: `"${demo.name}" is a published demo token and http.host ${loaded.config.http.host} is not loopback: delete it and make a real one with \`switchboard token\``,
    };
  });
}
