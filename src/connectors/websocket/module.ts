import type { ConnectorModule } from '../connector.ts';

export const websocketModule: ConnectorModule = {
  network: 'websocket',
  enabled: (config) => config.websocket.enabled,
  async create(loaded) {
    const { WebSocketConnector } = await import('./connector.ts');
    return new WebSocketConnector(loaded.config.websocket);
  },
};
