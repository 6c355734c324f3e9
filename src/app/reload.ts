// What a running instance reloads without a restart (SIGHUP): bridges/ (rooms linked, unlinked,
// moved), config.yaml's settings that connectors can apply live (the WebSocket tokens) and
// mappings/. The new files are checked as a start would check them; then everything is put in
// force together, or, with any problem, nothing is. Settings that need a restart are named in a
// warning and left as they are.
import { isDeepStrictEqual } from 'node:util';
import { loadConfig, ConfigError, checkTokenRooms, type ConfigIssue, type LoadedConfig } from '../config/load.ts';
import { directionWarnings, loadBridges, sharedIgnoreOf, withSharedIgnore } from '../config/bridges.ts';
import { formatIssue } from '../config/errors.ts';
import { diffEndpoints, type Bridge, type EndpointDiff } from '../core/endpoint.ts';
import type { Logger } from '../core/logger.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { counter, gauge, type Counter, type Gauge, type Registry } from '../core/metrics.ts';
import type { Connector } from '../connectors/connector.ts';
import { CONNECTOR_MODULES } from '../connectors/registry.ts';
import { demoTokenIssues } from '../connectors/websocket/demo-tokens.ts';
import type { Router } from '../router/router.ts';
import type { Mapper } from '../mapper/mapper.ts';
import { applyMappings, reloadMappings, refusedMappings, type ReloadOutcome as MappingsOutcome } from './mapper-wiring.ts';

export interface NetworkChange {
  readonly network: string;
  readonly added: number;
  readonly removed: number;
  readonly moved: number;
  /** Endpoints bridged another way now (bridges/ `direction`). */
  readonly redirected: number;
}

type Refused = { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export type BridgesReloadOutcome = { readonly ok: true; readonly rooms: number; readonly changes: readonly NetworkChange[] } | Refused;

export type ConfigReloadOutcome =
  | {
    readonly ok: true;
    readonly rooms: number;
    readonly changes: readonly NetworkChange[];
    readonly identities: number;
    /** Settings of config.yaml put in force (`websocket.tokens`). */
    readonly applied: readonly string[];
    /** Settings of config.yaml that changed but need a restart (left as they are). */
    readonly needsRestart: readonly string[];
  }
  | Refused;

export interface LiveConfigDeps {
  readonly loaded: LoadedConfig;
  readonly router: Router;
  readonly connectors: readonly Connector[];
  readonly mapper: Mapper | undefined;
  readonly logger: Logger;
  readonly registry: Registry;
  /** The endpoints the routing table keeps of a bridges/ table (those of connectors that run here and deliver). */
  readonly served: (bridges: readonly Bridge[]) => Bridge[];
}

/** A bridges/ table checked and ready: `commit()` puts it in force (and cannot fail). */
interface BridgesPlan {
  readonly ok: true;
  commit(): { rooms: number; changes: NetworkChange[] };
}

/**
 * The configuration in force, and its reloads. Reloads run one at a time (a second SIGHUP during
 * one waits for it), so connectors see each change once and in order.
 */
export class LiveConfig {
  readonly #deps: LiveConfigDeps;
  /** What is in force: the start's config.yaml with the settings reloads applied (connectors' settingsChanged); the current bridges/ and mappings/. */
  #inForce: LoadedConfig;
  /** Reloads, one at a time (a single key). */
  readonly #turns = new KeyedLock();
  readonly #reloads: Counter<string>;
  readonly #rooms: Gauge<string>;

  constructor(deps: LiveConfigDeps) {
    this.#deps = deps;
    this.#inForce = deps.loaded;
    this.#reloads = counter(deps.registry, 'switchboard_config_reloads_total', 'Reloads (SIGHUP), by what (all, bridges) and result: ok, refused (what is in force stays)', ['what', 'result']);
    this.#rooms = gauge(deps.registry, 'switchboard_rooms', 'Canonical rooms bridges/ declares (in force)');
    this.#rooms.set(deps.router.rooms.length);
  }

  /** The WebSocket tokens in force (media uploads take them too). */
  get tokens(): LoadedConfig['config']['websocket']['tokens'] {
    return this.#inForce.config.websocket.tokens;
  }

  /** SIGHUP: config.yaml, bridges/ and mappings/ again, in force together, or refused whole. Never throws. */
  reload(): Promise<ConfigReloadOutcome> {
    return this.#inTurn(async () => {
      const outcome = await this.#counted('all', () => this.#reloadAll());
      // mappings/ was not put in force either: its own counter and log line say so.
      if (!outcome.ok) refusedMappings(this.#deps.mapper, this.#deps.logger, outcome.issues);
      return outcome;
    });
  }

  /** bridges/ alone again, checked against the config.yaml in force. Never throws. */
  reloadBridges(): Promise<BridgesReloadOutcome> {
    return this.#inTurn(() => this.#counted('bridges', () => this.#reloadBridges()));
  }

  /** mappings/ alone again. Never throws. */
  reloadMappings(): Promise<MappingsOutcome> {
    const { mapper, logger, connectors } = this.#deps;
    return this.#inTurn(() => reloadMappings(this.#inForce, mapper, logger, connectors));
  }

  #inTurn<T>(work: () => Promise<T>): Promise<T> {
    return this.#turns.run('reload', work);
  }

  async #counted<T extends { ok: boolean }>(what: 'all' | 'bridges', work: () => Promise<T | Refused>): Promise<T | Refused> {
    let outcome: T | Refused;
    try {
      outcome = await work();
    } catch (err) {
      outcome = { ok: false, issues: [{ file: this.#inForce.configFile, line: 0, path: '', message: `cannot reload: ${(err as Error).message}` }] };
    }
    this.#reloads.inc({ what, result: outcome.ok ? 'ok' : 'refused' });
    if (!outcome.ok) this.#deps.logger.error({ what, issues: (outcome as Refused).issues.map(formatIssue) }, 'reload refused: what is in force stays');
    return outcome;
  }

  async #reloadBridges(): Promise<BridgesReloadOutcome> {
    const inForce = this.#inForce;
    const loaded = await loadBridges(inForce.bridgesDir, process.env);
    if (loaded.issues.length > 0) return { ok: false, issues: loaded.issues };
    // config.yaml's rules for every room, as loadConfig applies them (the config.yaml in force).
    const bridges = withSharedIgnore(loaded.bridges, sharedIgnoreOf(inForce.config));
    const next: LoadedConfig = { ...inForce, bridges };
    const checked = [...checkTokenRooms(inForce.config, bridges, inForce.configFile, inForce.configSource), ...this.#moduleIssues(next)];
    if (checked.length > 0) return { ok: false, issues: checked };
    const plan = this.#planBridges(bridges);
    if (!plan.ok) return plan;
    this.#inForce = next;
    return { ok: true, ...plan.commit() };
  }

  async #reloadAll(): Promise<ConfigReloadOutcome> {
    const inForce = this.#inForce;
    let next: LoadedConfig;
    try {
      next = await loadConfig(inForce.configFile);
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, issues: err.issues };
      throw err;
    }
    // The folders are read from where this instance reads them: moving them needs a restart.
    const moved = (['bridgesDir', 'mappingsDir'] as const).filter((dir) => next[dir] !== inForce[dir]);
    if (moved.length > 0) {
      return { ok: false, issues: moved.map((dir) => ({ file: inForce.configFile, line: 0, path: dir, message: `${dir} changed (to ${next[dir]}): restart to read another folder` })) };
    }
    const issues = [...this.#moduleIssues(next), ...demoTokenIssues(next)];
    if (issues.length > 0) return { ok: false, issues };
    const plan = this.#planBridges(next.bridges);
    if (!plan.ok) return plan;

    // Checked whole: from here on everything is put in force.
    const { rooms, changes } = plan.commit();
    const { connectors, mapper, logger } = this.#deps;
    const changed = changedSettings(inForce.config, next.config);
    // config.yaml's `ignore:` went into the bridges the router took just now (withSharedIgnore),
    // and its senders keep their direct chats too.
    this.#deps.router.replaceDirectIgnore(sharedIgnoreOf(next.config));
    const applied = new Set<string>(changed.filter((path) => path === 'ignore' || path.startsWith('ignore.')));
    for (const connector of connectors) for (const path of connector.settingsChanged?.(next) ?? []) applied.add(path);
    const { identities } = applyMappings(next.mappings, mapper, logger, connectors);
    const needsRestart = changed.filter((path) => !applied.has(path));
    if (needsRestart.length > 0) logger.warn({ settings: needsRestart }, 'config.yaml: these settings changed and need a restart; the values in force stay');
    this.#inForce = { ...inForce, bridges: next.bridges, mappings: next.mappings, config: withSettings(inForce.config, next.config, applied) };
    logger.info({ rooms, changes, identities, applied: [...applied], needsRestart }, 'config reloaded');
    return { ok: true, rooms, changes, identities, applied: [...applied], needsRestart };
  }

  /** The checks the enabled connector modules make of what a reload may change (the modules this instance runs). */
  #moduleIssues(next: LoadedConfig): ConfigIssue[] {
    return CONNECTOR_MODULES.filter((m) => m.enabled(this.#inForce.config)).flatMap((m) => m.checkReloadable?.(next) ?? []);
  }

  /**
   * Compares a checked bridges/ table with the one in force; refuses it when a connector that
   * cannot follow would see its endpoints change. Committing swaps the router's table, then tells
   * every connector (each its own change, possibly empty: one serving the canonical streams
   * follows rooms it has no endpoint in).
   */
  #planBridges(bridges: readonly Bridge[]): BridgesPlan | Refused {
    const { router, connectors, served, logger } = this.#deps;
    const before = served(this.#inForce.bridges);
    const after = served(bridges);
    const diffs = connectors.map((connector) => ({ connector, diff: diffEndpoints(before, after, connector.network) }));
    const changed = diffs.filter(({ diff }) => changes(diff));
    const deaf = changed.filter(({ connector }) => connector.endpointsChanged === undefined);
    if (deaf.length > 0) {
      return { ok: false, issues: deaf.map(({ connector }) => ({ file: this.#inForce.bridgesDir, line: 0, path: '', message: `the ${connector.network} connector cannot change its endpoints while running: restart to apply this bridges/` })) };
    }
    const ignoring = ignoreChanges(before, after);
    const tableChanged = changed.length > 0 || !sameRooms(before, after) || ignoring.length > 0;
    const summaries = changed.map(({ connector, diff }) => summary(connector.network, diff));
    return {
      ok: true,
      commit: () => {
        if (tableChanged) {
          router.replaceBridges(after);
          this.#rooms.set(router.rooms.length);
          for (const { connector, diff } of diffs) {
            try {
              connector.endpointsChanged?.(diff);
            } catch (err) {
              // The contract says it never throws; one that does must not keep the others from hearing.
              logger.error({ err, connector: connector.network }, 'a connector failed to take the new bridges/');
            }
          }
          logger.info({ rooms: router.rooms.length, changes: summaries, ...(ignoring.length > 0 ? { ignoreChanged: ignoring } : {}) }, 'bridges reloaded');
          for (const w of directionWarnings(bridges)) logger.warn({ file: w.file, line: w.line, field: w.path }, `bridges: ${w.message}`);
        }
        return { rooms: router.rooms.length, changes: summaries };
      },
    };
  }
}

function changes(diff: EndpointDiff): boolean {
  // A redirect alone (bridges/ `direction:`) changes where the router sends events, and what the connector does there.
  return diff.added.length + diff.removed.length + diff.moved.length + diff.redirected.length > 0;
}

function summary(network: string, diff: EndpointDiff): NetworkChange {
  return { network, added: diff.added.length, removed: diff.removed.length, moved: diff.moved.length, redirected: diff.redirected.length };
}

/** The rooms whose `ignore:` rules differ between two tables (a room new or gone counts when it has rules). */
function ignoreChanges(a: readonly Bridge[], b: readonly Bridge[]): string[] {
  const rulesOf = (bridges: readonly Bridge[]) => new Map(bridges.map((bridge) => [bridge.room, bridge.ignore]));
  const [was, now] = [rulesOf(a), rulesOf(b)];
  return [...new Set([...was.keys(), ...now.keys()])].filter((room) => !isDeepStrictEqual(was.get(room), now.get(room)));
}

/** Whether two tables declare the same canonical rooms. */
function sameRooms(a: readonly Bridge[], b: readonly Bridge[]): boolean {
  const rooms = new Set(a.map((bridge) => bridge.room));
  return a.length === b.length && b.every((bridge) => rooms.has(bridge.room));
}

/** `config` with the settings at `paths` (`section.key`, as changedSettings names them) taken from `from`. */
function withSettings<C extends object>(config: C, from: C, paths: ReadonlySet<string>): C {
  const out = { ...config } as Record<string, unknown>;
  const source = from as Record<string, unknown>;
  for (const path of paths) {
    const [section, key] = path.split('.', 2) as [string, string | undefined];
    if (key === undefined) out[section] = source[section];
    else out[section] = { ...(out[section] as Record<string, unknown>), [key]: (source[section] as Record<string, unknown>)[key] };
  }
  return out as C;
}

/** The settings of config.yaml that differ, by section and key (`websocket.tokens`, `http.port`, `log`). */
export function changedSettings(before: object, after: object): string[] {
  const paths: string[] = [];
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const [x, y] = [a[key], b[key]];
    if (isDeepStrictEqual(x, y)) continue;
    if (isPlainObject(x) && isPlainObject(y)) {
      for (const sub of new Set([...Object.keys(x), ...Object.keys(y)])) if (!isDeepStrictEqual(x[sub], y[sub])) paths.push(`${key}.${sub}`);
    } else {
      paths.push(key);
    }
  }
  return paths;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

