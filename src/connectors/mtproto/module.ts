import type { ConnectorModule } from '../connector.ts';

export const mtprotoModule: ConnectorModule = {
  network: 'mtproto',
  enabled: (config) => config.mtproto.enabled,
  async check(loaded) {
    const { readMtprotoRsaKey } = await import('./rsa-key-file.ts');
    const key = await readMtprotoRsaKey(loaded);
    return key.ok ? [] : [key.issue];
  },
  async create(loaded) {
    const { MtprotoConnector } = await import('./connector.ts');
    return new MtprotoConnector(loaded);
  },
};
