import type { Bus } from '../../src/bus/types.ts';
import type { Connector } from '../../src/connectors/connector.ts';
import type { MediaService } from '../../src/media/index.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { MountTable, startHttpServer } from '../../src/http/server.ts';

export interface ConnectorHost {
  readonly httpUrl: string;
  readonly httpPort: number;
  /** Stops the HTTP server (the connector is the caller's to close). */
  close(): Promise<void>;
}

/**
 * Starts a connector the way the app does, on a real HTTP server of its own (127.0.0.1, a free
 * port) with the mount table it fills: for tests of one connector without the whole app.
 */
export async function startConnector(connector: Connector, deps: {
  bus: Bus; routing: RoutingView; registry?: Registry; logger?: Logger; instanceId?: string; media?: MediaService;
}): Promise<ConnectorHost> {
  const registry = deps.registry ?? createRegistry(false);
  const logger = deps.logger ?? silentLogger;
  const mounts = new MountTable();
  const http = await startHttpServer({
    host: '127.0.0.1', port: 0, logger, mounts,
    health: async () => { throw new Error('no /healthz in a connector test host'); },
  });
  const httpUrl = `http://127.0.0.1:${http.port}`;
  try {
    await connector.start({
      bus: deps.bus, routing: deps.routing, registry, logger, http: mounts, httpUrl,
      instanceId: deps.instanceId ?? 'test', media: deps.media,
      endpoints: deps.routing.rooms.flatMap((room) => deps.routing.endpointsOf(room).filter((e) => e.connector === connector.network)),
    });
  } catch (err) {
    await http.close();
    throw err;
  }
  return { httpUrl, httpPort: http.port, close: () => http.close() };
}
