import { dirname, resolve } from 'node:path';
import { ConfigSchema, RETIRED_SETTINGS, type Config } from './schema.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { Env } from './env.ts';
import { lineAt, readYamlFile, validateWith, type YamlSource } from './yaml-file.ts';
import { checkedIgnoreRules, directionWarnings, loadBridges, unknownSenderWarnings, withSharedIgnore, type KnownSenders } from './bridges.ts';
import { loadMappings } from './mappings.ts';
import type { Mappings } from './mappings-schema.ts';
import type { Bridge } from '../core/endpoint.ts';

export { ConfigError, formatIssue, type ConfigIssue } from './errors.ts';
export type { Mappings, Identity, PresenceMapping } from './mappings-schema.ts';

/** A configuration that passed every check, with its paths resolved. */
export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of config.yaml. */
  readonly configFile: string;
  /** Its folder: every relative path in the config is relative to it. */
  readonly configDir: string;
  readonly bridgesDir: string;
  readonly mappingsDir: string;
  readonly bridges: readonly Bridge[];
  readonly mappings: Mappings;
  /** The parsed config.yaml, so later checks (the RSA key file) can name a line too. */
  readonly configSource?: YamlSource;
  /** What loads but deserves the operator's attention (a retired setting still set), as file:line: field: message. */
  readonly warnings: readonly ConfigIssue[];
}

export interface LoadOptions {
  /** Where `${VAR}` values come from (default: process.env). */
  readonly env?: Env;
}

/**
 * Loads config.yaml, the bridges/ and mappings/ folders next to it, and checks them together.
 * Never starts anything and never touches the network. Throws ConfigError listing every problem
 * as file, line and field.
 */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const configFile = resolve(path);
  const configDir = dirname(configFile);

  const parsed = await readYamlFile(configFile, env);
  if (!parsed.ok) throw new ConfigError(parsed.issues);
  const warnings = dropRetiredSettings(parsed.value, parsed.source);
  const checked = validateWith(ConfigSchema, parsed.value, parsed.source);
  if (!checked.ok) throw new ConfigError(checked.issues);
  const config = checked.data;

  const bridgesDir = resolve(configDir, config.bridgesDir);
  const mappingsDir = resolve(configDir, config.mappingsDir);
  const [bridgeResult, mappingResult] = await Promise.all([loadBridges(bridgesDir, env), loadMappings(mappingsDir, env)]);
  const issues: ConfigIssue[] = [...bridgeResult.issues, ...mappingResult.issues];
  issues.push(...checkTokens(config, bridgeResult.bridges, parsed.source, bridgeResult.issues.length === 0));

  // config.yaml's rules for every room, checked and converted once (null: a pattern refused, in issues).
  const shared = config.ignore === undefined ? undefined : checkedIgnoreRules(configFile, config.ignore, parsed.source, issues);

  if (issues.length > 0 || shared === null) throw new ConfigError(issues);

  const bridges = withSharedIgnore(bridgeResult.bridges, shared);
  const known: KnownSenders = { websocket: new Set(config.websocket.tokens.map((t) => t.name)), mtproto: new Set(config.mtproto.accounts.map((a) => String(a.id))) };
  const senderWarnings = [
    ...(shared === undefined ? [] : unknownSenderWarnings(shared, known, (i) => ({ file: configFile, line: lineAt(parsed.source, ['ignore', 'senders', i]), path: `ignore.senders.${i}` }))),
    ...bridgeResult.bridges.flatMap((b) => (b.ignore === undefined ? [] : unknownSenderWarnings(b.ignore, known, (i) => ({ file: b.source, line: b.ignoreSenderLines?.[i] ?? 1, path: `ignore.senders.${i}` })))),
  ];
  return { config, configFile, configDir, bridgesDir, mappingsDir, bridges, mappings: mappingResult.mappings, configSource: parsed.source, warnings: [...warnings, ...directionWarnings(bridges), ...senderWarnings] };
}

/** Deletes every retired setting (RETIRED_SETTINGS) from the parsed file, and says where each was. */
function dropRetiredSettings(value: unknown, source: YamlSource): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  for (const { path, why } of RETIRED_SETTINGS) {
    let holder: unknown = value;
    for (const key of path.slice(0, -1)) holder = isRecord(holder) ? holder[key] : undefined;
    const last = path[path.length - 1];
    if (last === undefined || !isRecord(holder) || !Object.hasOwn(holder, last)) continue;
    delete holder[last];
    warnings.push({ file: source.file, line: lineAt(source, path, true), path: path.join('.'), message: why });
  }
  return warnings;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Token names and hashes are unique; the rooms a token names exist (when the bridges loaded cleanly). */
function checkTokens(config: Config, bridges: readonly Bridge[], source: YamlSource, bridgesComplete: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Map<string, number>();
  const hashes = new Map<string, number>();
  config.websocket.tokens.forEach((token, i) => {
    const at = (field: string) => ({ file: source.file, line: lineAt(source, ['websocket', 'tokens', i, field]), path: `websocket.tokens.${i}.${field}` });
    const earlierName = names.get(token.name);
    if (earlierName !== undefined) issues.push({ ...at('name'), message: `token name "${token.name}" is already used by websocket.tokens.${earlierName}` });
    else names.set(token.name, i);
    const earlierHash = hashes.get(token.hash);
    if (earlierHash !== undefined) issues.push({ ...at('hash'), message: `the same hash is already used by websocket.tokens.${earlierHash}: make a new token for each client` });
    else hashes.set(token.hash, i);
  });
  if (bridgesComplete) issues.push(...checkTokenRooms(config, bridges, source.file, source));
  return issues;
}

/**
 * The rooms each token names are declared in bridges/ (a bridges/ reload runs it against the
 * config.yaml in force: a reload that a restart would refuse is refused).
 */
export function checkTokenRooms(config: Config, bridges: readonly Bridge[], configFile: string, source: YamlSource | undefined): ConfigIssue[] {
  const rooms = new Set(bridges.map((b) => b.room));
  const issues: ConfigIssue[] = [];
  config.websocket.tokens.forEach((token, i) => {
    token.rooms.forEach((room, r) => {
      if (room !== '*' && !rooms.has(room)) {
        const path = ['websocket', 'tokens', i, 'rooms', r];
        issues.push({ file: configFile, line: source ? lineAt(source, path) : 0, path: path.join('.'), message: `no bridge declares room "${room}"` });
      }
    });
  });
  return issues;
}

/** Resolves a path from the config (rsaKeyFile, ...) against the config file's folder. */
export function resolveFromConfig(loaded: Pick<LoadedConfig, 'configDir'>, path: string): string {
  return resolve(loaded.configDir, path);
}
