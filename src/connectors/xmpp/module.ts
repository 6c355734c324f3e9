import type { ConfigIssue } from '../../config/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { ConnectorModule } from '../connector.ts';
import { bareJid } from './address.ts';

/** Whether an XMPP endpoint address is a room's bare JID (room@conference.example.org), what the connector joins. */
export function isRoomJid(address: string): boolean {
  const room = bareJid(address);
  return room !== undefined && room === address && room.includes('@');
}

/** Every XMPP endpoint is a room JID (also at every bridges/ reload). */
function checkXmppReloadable(loaded: LoadedConfig): ConfigIssue[] {
  return loaded.bridges.flatMap((bridge) => bridge.endpoints.flatMap((e, i) => e.connector === 'xmpp' && !isRoomJid(e.address)
    ? [{ file: bridge.source, line: bridge.endpointLines?.[i] ?? 0, path: `endpoints.${i}.xmpp`, message: `"${e.address}" is not a room JID (room@conference.example.org)` }]
    : []));
}

export const xmppModule: ConnectorModule = {
  network: 'xmpp',
  enabled: (config) => config.xmpp.enabled,
  checkReloadable: checkXmppReloadable,
  async create(loaded) {
    const { XmppConnector } = await import('./connector.ts');
    return new XmppConnector(loaded.config.xmpp);
  },
};
