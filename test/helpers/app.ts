import type { App } from '../../src/app.ts';
import type { MtprotoConnector } from '../../src/connectors/mtproto/connector.ts';

/** The WebSocket URL of a started app (its WebSocket connector's banner line). */
export function wsUrlOf(app: App): string {
  const line = app.listings().find((l) => l.label === 'WebSocket');
  if (!line) throw new Error('the app runs no WebSocket connector');
  return line.value;
}

/** The app's MTProto connector, when it runs one. */
export function mtprotoOf(app: App): MtprotoConnector | undefined {
  return app.connectors.find((c) => c.network === 'mtproto') as MtprotoConnector | undefined;
}
