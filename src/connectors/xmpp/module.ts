import type { ConfigIssue } from '../../config/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { ConnectorModule } from '../connector.ts';
// Light (no connector code): the reload check runs it synchronously.
import { roomJidIssues } from './room-jid.ts';

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
