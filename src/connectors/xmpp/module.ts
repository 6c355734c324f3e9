import type { ConnectorModule } from '../connector.ts';

export const xmppModule: ConnectorModule = {
  network: 'xmpp',
  enabled: (config) => config.xmpp.enabled,
  async create(loaded) {
    const { XmppConnector } = await import('./connector.ts');
    return new XmppConnector(loaded.config.xmpp);
  },
};
