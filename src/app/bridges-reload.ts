// bridges/ again without a restart (SIGHUP): rooms linked, unlinked or relinked while every
// connection stays up. The new files are checked as a start would check them, against the
// config.yaml in force; then the router's table is swapped whole and each connector is told what
// changed for its network. A reload with any problem changes nothing.
import type { LoadedConfig } from '../config/load.ts';
import { checkTokenRooms, type ConfigIssue } from '../config/load.ts';
import { loadBridges } from '../config/bridges.ts';
import { formatIssue } from '../config/errors.ts';
import { diffEndpoints, type Bridge } from '../core/endpoint.ts';
import type { Logger } from '../core/logger.ts';
import { counter, gauge, type Counter, type Gauge, type Registry } from '../core/metrics.ts';
import type { Connector } from '../connectors/connector.ts';
import { CONNECTOR_MODULES } from '../connectors/registry.ts';
import type { Router } from '../router/router.ts';

export interface NetworkChange {
  readonly network: string;
  readonly added: number;
  readonly removed: number;
  readonly moved: number;
}

export type BridgesReloadOutcome =
  | { readonly ok: true; readonly rooms: number; readonly changes: readonly NetworkChange[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export interface BridgesReloadDeps {
  readonly loaded: LoadedConfig;
  readonly router: Router;
  readonly connectors: readonly Connector[];
  readonly logger: Logger;
  /** The endpoints the routing table keeps of a bridges/ table (those of connectors that run here and deliver). */
  readonly served: (bridges: readonly Bridge[]) => Bridge[];
  readonly registry: Registry;
}

/**
 * Keeps the bridges/ table in force and replaces it on `reload()`. Reloads run one at a time (a
 * second SIGHUP during one waits for it), so the connectors see each change once and in order.
 */
export class BridgesInForce {
  readonly #deps: BridgesReloadDeps;
  #bridges: readonly Bridge[];
  #queue: Promise<unknown> = Promise.resolve();
  readonly #reloads: Counter<string>;
  readonly #rooms: Gauge<string>;

  constructor(deps: BridgesReloadDeps) {
    this.#deps = deps;
    this.#bridges = deps.loaded.bridges;
    this.#reloads = counter(deps.registry, 'switchboard_bridges_reloads_total', 'Reloads of bridges/ (SIGHUP), by result: ok, refused (the rooms in force stay)', ['result']);
    this.#rooms = gauge(deps.registry, 'switchboard_rooms', 'Canonical rooms bridges/ declares (in force)');
    this.#rooms.set(deps.router.rooms.length);
  }

  /** The bridges/ table in force (as loaded: every endpoint, served here or not). */
  get bridges(): readonly Bridge[] {
    return this.#bridges;
  }

  /** Reads bridges/ again and puts it in force, or refuses it (every problem, file:line:field). Never throws. */
  reload(): Promise<BridgesReloadOutcome> {
    const run = this.#queue.then(() => this.#reload());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<BridgesReloadOutcome> {
    const { loaded, logger } = this.#deps;
    let outcome: BridgesReloadOutcome;
    try {
      outcome = await this.#apply();
    } catch (err) {
      outcome = { ok: false, issues: [{ file: loaded.bridgesDir, line: 0, path: '', message: `cannot reload: ${(err as Error).message}` }] };
    }
    this.#reloads.inc({ result: outcome.ok ? 'ok' : 'refused' });
    if (outcome.ok) logger.info({ rooms: outcome.rooms, changes: outcome.changes }, 'bridges reloaded');
    else logger.error({ issues: outcome.issues.map(formatIssue) }, 'bridges reload refused: the rooms in force stay');
    return outcome;
  }

  async #apply(): Promise<BridgesReloadOutcome> {
    const { loaded, router, connectors, served } = this.#deps;
    const { bridges, issues } = await loadBridges(loaded.bridgesDir, process.env);
    if (issues.length > 0) return { ok: false, issues };
    const next: LoadedConfig = { ...loaded, bridges };
    const checked = [...checkTokenRooms(loaded.config, bridges, loaded.configFile, loaded.configSource)];
    for (const module of CONNECTOR_MODULES) {
      if (module.enabled(loaded.config)) checked.push(...module.checkBridges?.(next) ?? []);
    }
    if (checked.length > 0) return { ok: false, issues: checked };

    const before = served(this.#bridges);
    const after = served(bridges);
    const diffs = connectors.map((connector) => ({ connector, diff: diffEndpoints(before, after, connector.network) }));
    const changed = diffs.filter(({ diff }) => diff.added.length + diff.removed.length + diff.moved.length > 0);
    const deaf = changed.filter(({ connector }) => connector.endpointsChanged === undefined);
    const roomsChanged = !sameRooms(before, after);
    if (deaf.length > 0) {
      return { ok: false, issues: deaf.map(({ connector }) => ({ file: loaded.bridgesDir, line: 0, path: '', message: `the ${connector.network} connector cannot change its endpoints while running: restart to apply this bridges/` })) };
    }

    // From here nothing can refuse: the checks above are those the router makes.
    router.replaceBridges(after);
    this.#bridges = bridges;
    this.#rooms.set(router.rooms.length);
    // Every connector hears of any change (its own diff may be empty): one serving the canonical
    // streams (a WS bot's subscription) follows rooms it has no endpoint in.
    for (const { connector, diff } of changed.length > 0 || roomsChanged ? diffs : []) {
      try {
        connector.endpointsChanged?.(diff);
      } catch (err) {
        // The contract says it never throws; one that does must not keep the others from hearing.
        this.#deps.logger.error({ err, connector: connector.network }, 'a connector failed to take the new bridges/');
      }
    }
    return {
      ok: true,
      rooms: router.rooms.length,
      changes: changed.map(({ connector, diff }) => ({ network: connector.network, added: diff.added.length, removed: diff.removed.length, moved: diff.moved.length })),
    };
  }
}

/** Whether two tables declare the same canonical rooms. */
function sameRooms(a: readonly Bridge[], b: readonly Bridge[]): boolean {
  const rooms = new Set(a.map((bridge) => bridge.room));
  return a.length === b.length && b.every((bridge) => rooms.has(bridge.room));
}
