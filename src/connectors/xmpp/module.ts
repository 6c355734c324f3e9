import type { ConfigIssue } from '../../config/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { ConnectorModule } from '../connector.ts';
// Light (no connector code): the reload check runs it synchronously.
import { roomJidIssues, roomJidProblem } from './room-jid.ts';

/** Whether an XMPP endpoint address is a room's bare JID (room@conference.example.org), what the connector joins. */
export function isRoomJid(address: string): boolean {
  return roomJidProblem(address) === undefined;
}

/** Every XMPP endpoint is a room JID (also at every bridges/ reload). */
function checkXmppReloadable(loaded: LoadedConfig): ConfigIssue[] {
  return roomJidIssues(loaded.bridges);
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
