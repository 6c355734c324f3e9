import { loadMappings } from '../config/mappings.ts';
import { formatIssue, type ConfigIssue, type LoadedConfig, type Mappings } from '../config/load.ts';
import type { Logger } from '../core/logger.ts';
import type { Registry } from '../core/metrics.ts';
import type { Bus } from '../bus/types.ts';
import type { Connector } from '../connectors/connector.ts';
import { Mapper } from '../mapper/mapper.ts';
import { busWithMapper } from '../mapper/egress.ts';
import type { MapperTables } from '../mapper/tables.ts';
import type { MediaLinks } from '../mapper/attachments.ts';

/** The loaded mappings/ as the mapper's plain tables (the mapper knows nothing of config files). */
export function mapperTables(mappings: Mappings): MapperTables {
  const { displayNames } = mappings;
  const byTarget: Record<string, string> = {};
  for (const network of ['websocket', 'xmpp', 'mtproto'] as const) {
    const template = displayNames[network];
    if (template !== undefined) byTarget[network] = template;
  }
  return {
    identities: mappings.identities.map((identity) => {
      const accounts: Record<string, string> = {};
      for (const network of ['websocket', 'xmpp', 'mtproto'] as const) {
        const account = identity[network];
        if (account !== undefined) accounts[network] = account;
      }
      return {
        canonical: identity.canonical, accounts,
        ...(identity.displayName !== undefined ? { displayName: identity.displayName } : {}),
        ...(identity.avatar !== undefined ? { avatar: identity.avatar } : {}),
      };
    }),
    displayNames: { default: displayNames.default, byTarget, networkNames: { ...displayNames.networks } },
    presenceStates: { ...mappings.presence.states },
    coalesceMs: mappings.presence.coalesceMs,
  };
}

/** The instance's mapper, or undefined when config.yaml turns it off (`mapper.enabled: false`). */
export function createMapper(loaded: LoadedConfig, bus: Bus, registry: Registry, logger: Logger, links?: MediaLinks): Mapper | undefined {
  const { mapper } = loaded.config;
  if (!mapper.enabled) {
    logger.info('mapper disabled (mapper.enabled: false): connectors get deliveries as the router made them');
    return undefined;
  }
  return new Mapper(mapperTables(loaded.mappings), {
    registry, logger, idMap: bus.idMap, ...(links ? { links } : {}),
    settings: { recentMessages: mapper.recentMessages, quoteChars: mapper.quoteChars, maxTrackedStates: mapper.maxTrackedStates },
  });
}

/** The bus a connector gets: with the mapper in front of its egress handler when there is one and it delivers. */
export function connectorBus(bus: Bus, mapper: Mapper | undefined, connector: Connector): Bus {
  return mapper && connector.delivers ? busWithMapper(bus, mapper, connector.network, connector.capabilities) : bus;
}

export type ReloadOutcome = { readonly ok: true; readonly identities: number } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/**
 * Reads mappings/ again and puts it in force whole, or refuses it with every problem as
 * file:line:field while the tables in force stay. Never throws.
 */
export async function reloadMappings(loaded: LoadedConfig, mapper: Mapper | undefined, logger: Logger, connectors: readonly Connector[] = []): Promise<ReloadOutcome> {
  let outcome: ReloadOutcome;
  try {
    const { mappings, issues } = await loadMappings(loaded.mappingsDir, process.env);
    outcome = issues.length > 0 ? { ok: false, issues } : applyMappings(mappings, mapper, logger, connectors);
  } catch (err) {
    outcome = { ok: false, issues: [{ file: loaded.mappingsDir, line: 0, path: '', message: `cannot reload: ${(err as Error).message}` }] };
  }
  if (!outcome.ok) refusedMappings(mapper, logger, outcome.issues);
  return outcome;
}

/** Puts mappings/ that passed every check in force: the mapper's tables, and connectors with a view of their own. */
export function applyMappings(mappings: Mappings, mapper: Mapper | undefined, logger: Logger, connectors: readonly Connector[]): { readonly ok: true; readonly identities: number } {
  mapper?.setTables(mapperTables(mappings));
  // Connectors with a view of their own (the MTProto users and login-code routes) follow.
  for (const connector of connectors) connector.identitiesChanged?.(mappings.identities);
  mapper?.metrics.reloads.inc({ result: 'ok' });
  logger.info({ identities: mappings.identities.length, mapper: mapper !== undefined }, 'mappings reloaded');
  return { ok: true, identities: mappings.identities.length };
}

/** A reload of mappings/ refused: counted and logged; the tables in force stay. */
export function refusedMappings(mapper: Mapper | undefined, logger: Logger, issues: readonly ConfigIssue[]): void {
  mapper?.metrics.reloads.inc({ result: 'refused' });
  logger.error({ issues: issues.map(formatIssue) }, 'mappings reload refused: the tables in force stay');
}
