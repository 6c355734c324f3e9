import type { ConnectorModule } from './connector.ts';
import { mtprotoModule } from './mtproto/module.ts';
import { websocketModule } from './websocket/module.ts';
import { xmppModule } from './xmpp/module.ts';

/**
 * Every network Switchboard speaks: one line each. The app starts those config.yaml enables,
 * in this order (and closes them in reverse); a bridges/ endpoint names one of these keys.
 */
export const CONNECTOR_MODULES: readonly ConnectorModule[] = [
  websocketModule,
  mtprotoModule,
  xmppModule,
];

export function connectorModule(network: string): ConnectorModule | undefined {
  return CONNECTOR_MODULES.find((m) => m.network === network);
}
