import { loadConfig, resolveFromConfig, ConfigError, formatIssue, type ConfigIssue, type LoadedConfig } from '../config/load.ts';
import { CONNECTOR_MODULES } from '../connectors/registry.ts';
import { configuredDemoTokens, demoTokenIssues } from '../connectors/websocket/demo-tokens.ts';
import { ExitCode, configPath, parseOptions, type Io } from './args.ts';
import { sharedIgnoreOf } from '../config/bridges.ts';
import type { IgnoreRules } from '../core/ignore.ts';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const CHECK_OPTIONS = { config: { type: 'string', short: 'c' } } as const;

export const CHECK_HELP = `Usage: switchboard check [--config FILE]

Validates config.yaml, every file in bridges/ and mappings/, token hashes, and when mtproto is
enabled its RSA key file and its key-encryption key (with the memory driver also against the
state file's stored keys). Starts nothing, changes nothing and opens no network connection.
Prints a summary (with the warnings start would log, such as retired settings) and exits 0, or
prints every problem as "file:line: field: message" and exits 1.`;

/**
 * Everything `check` verifies, shared with `start` so it refuses the same configs: the files, the
 * RSA key when MTProto is on, and no published demo token on a non-loopback listener.
 */
export async function loadAndVerify(path: string): Promise<LoadedConfig> {
  const loaded = await loadConfig(path);
  const issues: ConfigIssue[] = [];
  for (const module of CONNECTOR_MODULES) {
    if (!module.enabled(loaded.config)) continue;
    issues.push(...module.checkReloadable?.(loaded) ?? []);
    if (module.check) issues.push(...await module.check(loaded));
  }
  issues.push(...demoTokenIssues(loaded));
  if (issues.length > 0) throw new ConfigError(issues);
  return loaded;
}

export function printConfigError(err: ConfigError, io: Io): void {
  for (const issue of err.issues) io.err(formatIssue(issue));
  io.err(`${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} found; nothing was started.`);
}

export async function checkCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, CHECK_OPTIONS);
  if (opts['help']) { io.out(CHECK_HELP); return ExitCode.Ok; }
  let loaded: LoadedConfig;
  try {
    loaded = await loadAndVerify(configPath(opts['config']));
  } catch (err) {
    if (err instanceof ConfigError) { printConfigError(err, io); return ExitCode.ConfigInvalid; }
    throw err;
  }
  const { config } = loaded;
  io.out(`OK: ${loaded.configFile}`);
  // What start would log as warnings (retired settings...): valid, but worth fixing.
  for (const warning of loaded.warnings) io.out(`  WARNING: ${formatIssue(warning)}`);
  io.out(`  bus:        ${config.bus.driver}${config.bus.driver === 'memory' ? ' (NOT durable: for trying out and tests)' : ` (${config.bus.redis.prefix}: prefix)`}`);
  io.out(`  http:       ${config.http.host}:${config.http.port}${config.http.metrics ? ' (with /metrics)' : ''}`);
  // Who may remove anyone's message: named, as they hold that power on every network of their rooms.
  const moderators = (names: string[]): string => (names.length > 0 ? `; moderators: ${names.join(', ')}` : '');
  io.out(`  websocket:  ${config.websocket.enabled ? `${config.websocket.path}, ${config.websocket.tokens.length} token(s)${moderators(config.websocket.tokens.filter((t) => t.moderator).map((t) => t.name))}` : 'disabled'}`);
  // The component's domain and the server's component port; never the secret.
  io.out(`  xmpp:       ${config.xmpp.enabled ? `component ${config.xmpp.domain} on ${config.xmpp.host}:${config.xmpp.port}` : 'disabled'}`);
  io.out(`  mtproto:    ${config.mtproto.enabled ? `${config.mtproto.host}:${config.mtproto.port}, key ${config.mtproto.rsaKeyFile}, ${config.mtproto.accounts.length} account(s)${moderators(config.mtproto.accounts.filter((a) => a.moderator === true).map((a) => String(a.id)))}` : 'disabled'}`);
  if (config.mtproto.enabled) {
    // Verified by the connector's check above; here only how stored auth keys will be kept.
    const { readKeyRing } = await import('../connectors/mtproto/store/kek-config.ts');
    const kek = readKeyRing(loaded);
    if (kek.ok) {
      const previous = kek.ring.ids.filter((id) => id !== kek.ring.current?.id);
      const rotation = previous.length > 0 ? `; previous: ${previous.join(', ')}` : '';
      if (kek.ring.current === undefined) {
        io.out(`  WARNING: no key-encryption key (mtproto.keyEncryptionKey or its key file): MTProto auth keys will be stored in PLAINTEXT. Run \`switchboard keygen --kek-only --kek ${resolveFromConfig(loaded, config.mtproto.keyEncryptionKeyFile)}\` or set mtproto.keyEncryptionKey.`);
      } else {
        io.out(`  mtproto keys at rest: sealed under key-encryption key ${kek.ring.current.id} (${kek.source === 'config' ? 'mtproto.keyEncryptionKey' : kek.file})${rotation}`);
      }
      for (const warning of kek.warnings) io.out(`  WARNING: ${warning}`);
    }
  }
  io.out(`  bridges:    ${loaded.bridges.length} room(s) from ${loaded.bridgesDir}`);
  // config.yaml's `ignore:` comes first in every room's rules (withSharedIgnore): listed once, each room's own under it.
  const shared = sharedIgnoreOf(config) ?? { senders: [], messages: [] };
  const sharedLine = notRelayed(shared);
  if (sharedLine !== undefined) io.out(`    (every room, config.yaml ignore:) not relayed: ${sharedLine}`);
  for (const bridge of loaded.bridges) {
    io.out(`    ${bridge.room}: ${bridge.endpoints.map((e) => `${e.connector} ${e.address}${e.direction !== undefined && e.direction !== 'both' ? ` (${e.direction})` : ''}`).join(', ')}`);
    const own = bridge.ignore === undefined ? undefined : notRelayed({
      senders: bridge.ignore.senders.slice(shared.senders.length), messages: bridge.ignore.messages.slice(shared.messages.length),
    });
    if (own !== undefined) io.out(`      not relayed: ${own}`);
  }
  io.out(`  mappings:   ${loaded.mappings.identities.length} identit${loaded.mappings.identities.length === 1 ? 'y' : 'ies'}, presence states for ${Object.keys(loaded.mappings.presence.states).join(', ') || 'no network'}`);
  const demos = configuredDemoTokens(config);
  if (demos.length > 0) io.out(`  WARNING: demo token(s) ${demos.map((d) => d.name).join(', ')} are configured; they are public. Replace them before exposing Switchboard.`);
  return ExitCode.Ok;
}

/** A room's `ignore:` rules as `check` lists them; undefined when they keep nothing back. */
function notRelayed(rules: IgnoreRules): string | undefined {
  const parts = [
    ...(rules.senders.length > 0 ? [`from ${rules.senders.map((s) => `${s.network} ${s.id}`).join(', ')}`] : []),
    ...(rules.messages.length > 0 ? [`messages matching ${rules.messages.map((p) => JSON.stringify(p)).join(', ')}`] : []),
  ];
  return parts.length > 0 ? parts.join('; ') : undefined;
}
