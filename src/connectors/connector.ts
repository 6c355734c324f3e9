import type { Bus } from '../bus/types.ts';
import type { Identity, LoadedConfig } from '../config/load.ts';
import type { ConfigIssue } from '../config/errors.ts';
import type { Config } from '../config/schema.ts';
import type { Capabilities } from '../core/capabilities.ts';
import type { Endpoint, EndpointDiff, RoutingView } from '../core/endpoint.ts';
import type { ComponentHealth } from '../core/health.ts';
import type { MediaService } from '../media/index.ts';
import type { HttpMounts } from '../core/http.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';

/**
 * The connector contract: one network, one implementation, registered in ./registry.ts.
 *
 * A connector turns its network's native things into canonical events and publishes them on the
 * bus (inbound), and turns the deliveries the bus routes to its endpoints into native things
 * (outbound, through `bus.consumeEgress(network, ...)`). It knows nothing of other networks.
 *
 * Lifecycle: constructed with its config, then `start(ctx)` once; `stopAccepting()` when shutdown
 * begins; `close()` once to finish. The app bounds the whole drain by shutdown.drainTimeoutMs.
 *
 * An implementation must NOT:
 * - import another connector, or reach around `ctx` into the app;
 * - acknowledge anything to its peer before `bus.publish`/`publishOnce` resolved (that is what makes
 *   "at least once in" hold);
 * - send an event back to where it came from (the router never routes it there; a hosted connector
 *   skips the sending session itself);
 * - block the event loop, or throw out of a delivery handler for a reason that a retry cannot fix
 *   (report such deliveries as degraded or dead-lettered with a reason instead).
 */
export interface Connector {
  /** The network's name: the registry key, `origin.connector` of its events, the bridges/ key. */
  readonly network: string;
  /** What its network can express (the mapper picks fallbacks from it). */
  readonly capabilities: Capabilities;
  /**
   * True when one endpoint hosts many client sessions (a WS room, an MTProto chat): an event from
   * one session must still reach the endpoint's other sessions, so the router keeps the origin
   * endpoint as a target and the connector skips the sending session itself.
   */
  readonly hostsSessions: boolean;
  /**
   * Whether it consumes the deliveries routed to its endpoints (`bus.consumeEgress(network)`).
   * The app routes only to connectors that do, so nothing piles up unread.
   */
  readonly delivers: boolean;

  /** Starts serving. Rejects (after undoing what it started) when it cannot start. */
  start(ctx: ConnectorContext): Promise<void>;
  /** Shutdown began: refuse new peers (connections, upgrades); open ones go on. Idempotent, synchronous. */
  stopAccepting(): void;
  /**
   * Finishes what is in hand (answers to what peers already sent, the delivery batch in hand),
   * releases what it holds (its egress consumer, leases, connections) and tells peers it is going.
   * `deadline` (ms since the epoch; default: 10 s from now) is when the app will cut whatever is
   * still open: waits are apportioned so that peers hear the goodbye before it, also when the bus
   * hangs. Idempotent; resolves when everything is closed.
   */
  close(deadline?: number): Promise<void>;
  /** For /healthz: `down` makes the instance unhealthy; `degraded` is reported but not fatal. */
  health(): ConnectorHealth;
  /** Lines for the start banner and the log: where peers reach it (URLs, ports, fingerprints). */
  describe(): readonly ConnectorListing[];
  /**
   * Optional: a connector that keeps its own view of mappings/identities.yaml takes the list the
   * app reloaded (SIGHUP, after the whole of mappings/ was checked). Synchronous; never throws.
   */
  identitiesChanged?(identities: readonly Identity[]): void;
  /**
   * Optional: bridges/ was reloaded (SIGHUP) and passed every check. The routing view given at
   * start already answers for the new table when this is called. The connector serves
   * `change.endpoints` from now on: it starts serving the added ones (an XMPP relay joins the
   * MUC), stops serving the removed ones (it leaves, tells its clients), and looks up the room of
   * the moved ones again. Called at every reload that changed the table at all, so the change
   * may be empty for this network (a connector serving canonical streams follows rooms it has no
   * endpoint in). Synchronous and never throws: work with peers runs in the background, logged.
   * A connector without it is told nothing: the app refuses a reload that changes its endpoints
   * (a restart applies them).
   */
  endpointsChanged?(change: EndpointChange): void;
  /**
   * Optional: config.yaml was reloaded (SIGHUP) and passed every check (`loaded` is the whole new
   * configuration, bridges/ and mappings/ included). The connector puts in force what of its
   * section it can apply live, and answers those settings' paths (`websocket.tokens`); the app
   * warns that every other changed setting needs a restart. Synchronous, never throws.
   */
  settingsChanged?(loaded: LoadedConfig): readonly string[];
  /**
   * Optional: the stored media (ids or content hashes) the connector still shows its peers beyond
   * what the rooms' retained streams refer to (files of messages it keeps itself, profile photos).
   * The media store's garbage collector keeps them. Throws, or the iteration fails, when it cannot
   * tell (not running): the collector then deletes nothing.
   */
  mediaReferences?(): AsyncIterable<string>;
}

export interface ConnectorContext {
  readonly bus: Bus;
  readonly routing: RoutingView;
  /** The bridges/ endpoints of this connector's network at start: what it serves (later changes: endpointsChanged). */
  readonly endpoints: readonly Endpoint[];
  /** Already names the instance and the connector. */
  readonly logger: Logger;
  /** The instance's metrics registry: metric names start with `switchboard_<network>_`. */
  readonly registry: Registry;
  readonly instanceId: string;
  /** The instance's HTTP server: mount upgrade paths and routes here during start(). */
  readonly http: HttpMounts;
  /** The public base URL of the HTTP server (for links the connector hands out). */
  readonly httpUrl: string;
  /**
   * The media store (docs/media.md), unless config.yaml turns it off: put files in it
   * (`store.put`, or `fetcher.fetch(url)` for a remote URL, SSRF-safe) and hand out
   * `attachmentFor(ref, name)`, a canonical attachment with a signed URL.
   */
  readonly media: MediaService | undefined;
}

/** What a bridges/ reload changed for one network (Connector.endpointsChanged). */
export type EndpointChange = EndpointDiff;

export type ConnectorHealth = ComponentHealth;

export interface ConnectorListing {
  readonly label: string;
  readonly value: string;
}

/**
 * One line of ./registry.ts: how the app finds, checks and creates a connector. Kept free of
 * heavy imports (the connector itself is imported inside `create`/`check`), so `switchboard check`
 * loads none of the connectors' code unless it has something to check.
 */
export interface ConnectorModule {
  readonly network: string;
  /** Whether config.yaml turns it on. */
  enabled(config: Config): boolean;
  /** What `switchboard check` verifies beyond the schema (key files...), without network. */
  check?(loaded: LoadedConfig): Promise<readonly ConfigIssue[]>;
  /**
   * What it verifies of bridges/ (its endpoints' addresses) and of config.yaml's references to
   * rooms: pure (no files, no network), run by `switchboard check`, at start and at every
   * bridges/ reload, so a reload that a restart would refuse is refused.
   */
  checkReloadable?(loaded: LoadedConfig): readonly ConfigIssue[];
  /** A connector for this configuration, not started. */
  create(loaded: LoadedConfig): Promise<Connector>;
}
