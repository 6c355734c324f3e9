import type { Capabilities } from '../core/capabilities.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { IdMap } from '../bus/types.ts';
import { DIRECT_LINKS, type MediaLinks } from './attachments.ts';
import { SYSTEM_CLOCK, type Clock } from './clock.ts';
import { IdentityResolver } from './identities.ts';
import { mapperMetrics, type MapperMetrics } from './metrics.ts';
import { PresenceStates } from './presence-states.ts';
import { RecentMessages } from './recent-messages.ts';
import { DEFAULT_SETTINGS, type MapperSettings, type MapperTables } from './tables.ts';
import { TargetMapper, type MapperCore } from './target-mapper.ts';

export interface MapperOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  /** The bus's id map: resolves references for connectors with native ids. */
  readonly idMap: IdMap;
  readonly settings?: MapperSettings;
  /** Where targets fetch or link attachments (the media store's signer, once it exists). */
  readonly links?: MediaLinks;
  readonly clock?: Clock;
}

interface InForce {
  readonly tables: MapperTables;
  readonly resolver: IdentityResolver;
  readonly presence: PresenceStates;
}

/**
 * The mapper of one instance: the tables of mappings/ in force, and one TargetMapper per
 * connector that delivers (see egress.ts for how it is put in front of a connector's handler).
 */
export class Mapper {
  private inForce: InForce;
  private readonly targets = new Map<string, TargetMapper>();
  private readonly core: MapperCore;
  readonly metrics: MapperMetrics;

  constructor(tables: MapperTables, options: MapperOptions) {
    this.metrics = mapperMetrics(options.registry);
    this.inForce = build(tables);
    this.metrics.identities.set(tables.identities.length);
    const settings = options.settings ?? DEFAULT_SETTINGS;
    this.core = {
      current: () => this.inForce,
      recent: new RecentMessages(settings.recentMessages),
      settings,
      metrics: this.metrics,
      logger: options.logger,
      clock: options.clock ?? SYSTEM_CLOCK,
      idMap: options.idMap,
      links: options.links ?? DIRECT_LINKS,
    };
  }

  get tables(): MapperTables {
    return this.inForce.tables;
  }

  /**
   * Puts new tables in force, whole: the next batch of every target is mapped with them. What
   * the coalescer remembers stays (a changed window applies from the next window on).
   */
  setTables(tables: MapperTables): void {
    this.inForce = build(tables);
    this.metrics.identities.set(tables.identities.length);
  }

  /** The mapper of one target connector (one per network, made on first use). */
  target(network: string, capabilities: Capabilities): TargetMapper {
    let target = this.targets.get(network);
    if (!target) this.targets.set(network, target = new TargetMapper(network, capabilities, this.core));
    return target;
  }
}

function build(tables: MapperTables): InForce {
  return { tables, resolver: new IdentityResolver(tables), presence: new PresenceStates(tables.presenceStates) };
}
