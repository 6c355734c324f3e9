import { ConfigSchema, type Config } from '../../src/config/schema.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import type { Bus, Stoppable } from '../../src/bus/types.ts';
import { Router } from '../../src/router/router.ts';
import type { Bridge, Direction } from '../../src/core/endpoint.ts';
import { createRegistry, type Registry } from '../../src/core/metrics.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { WebSocketConnector } from '../../src/connectors/websocket/connector.ts';
import { generateToken, hashToken } from '../../src/connectors/websocket/tokens.ts';
import { XmppConnector } from '../../src/connectors/xmpp/connector.ts';
import { startConnector, type ConnectorHost } from '../helpers/connector-host.ts';
import { startProsody, type ProsodyServer } from '../helpers/prosody.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import type { MediaService } from '../../src/media/index.ts';
import { busOptions } from '../websocket/harness.ts';
import type { BridgeProcess } from '../e2e/bridge-process.ts';

/**
 * One bridge process for XMPP tests: a bus (MemoryBus unless given), the router over one bridge
 * linking the WS room `lobby` with the MUC lobby@<muc domain> of the test Prosody, the WebSocket
 * connector (tokens carol, dave, erin, frank, grace; display names: carol's Carol unless `displayNames` says otherwise) and the XMPP connector as that Prosody's component.
 */
export interface XmppBridge {
  readonly bus: Bus;
  readonly registry: Registry;
  /** The XMPP connector running now (replaced by restartXmpp). */
  readonly xmpp: XmppConnector;
  readonly wsUrl: string;
  /** WS tokens by name: carol (display name Carol), dave, erin, frank, grace. */
  readonly tokens: Record<'carol' | 'dave' | 'erin' | 'frank' | 'grace', string>;
  readonly roomJid: string;
  /** Closes the XMPP connector (the component goes away; the rest of the bridge runs on). */
  stopXmpp(): Promise<void>;
  /** Starts a new XMPP connector on the same bus (the component comes back). */
  startXmpp(): Promise<void>;
  stop(): Promise<void>;
}

export async function startXmppBridge(prosody: ProsodyServer, opts: {
  bus?: Bus; xmpp?: Partial<Config['xmpp']>; media?: MediaService; displayNames?: Partial<Record<keyof XmppBridge['tokens'], string>>;
  /** WS tokens that may remove anyone's message (websocket.tokens[].moderator). */
  moderators?: ReadonlyArray<keyof XmppBridge['tokens']>;
  /** How the bridge links each endpoint (bridges/ `direction:`; absent: both). */
  directions?: Partial<Record<'websocket' | 'xmpp', Direction>>;
  /** What the room keeps to where it was said (bridges/ `ignore:`). */
  ignore?: Bridge['ignore'];
  /** config.yaml's `ignore:` senders, which keep their direct chats too (Router's directIgnore). */
  directIgnore?: Bridge['ignore'];
} = {}): Promise<XmppBridge> {
  const roomJid = `lobby@${prosody.mucDomain}`;
  const direction = (network: 'websocket' | 'xmpp') => { const d = opts.directions?.[network]; return d !== undefined ? { direction: d } : {}; };
  const bridges: Bridge[] = [{ room: 'lobby', source: 'test', endpoints: [{ connector: 'websocket', address: 'lobby', ...direction('websocket') }, { connector: 'xmpp', address: roomJid, ...direction('xmpp') }], ...(opts.ignore !== undefined ? { ignore: opts.ignore } : {}) }];
  const tokens = { carol: generateToken(), dave: generateToken(), erin: generateToken(), frank: generateToken(), grace: generateToken() };
  const config = ConfigSchema.parse({
    websocket: {
      tokens: Object.entries(tokens).map(([name, token]) => {
        const displayName = opts.displayNames?.[name as keyof typeof tokens] ?? (name === 'carol' ? 'Carol' : undefined);
        return {
          name, hash: hashToken(token), ...(displayName !== undefined ? { displayName } : {}),
          ...(opts.moderators?.includes(name as keyof typeof tokens) ? { moderator: true } : {}),
        };
      }),
      rateLimit: { perSecond: 1_000, burst: 1_000 },
    },
    xmpp: {
      enabled: true, port: prosody.componentPort, domain: prosody.componentDomain, secret: prosody.componentSecret,
      reflectionTimeoutMs: 5_000, ...opts.xmpp,
    },
  });
  const registry = createRegistry(false);
  const bus = opts.bus ?? new MemoryBus(busOptions(registry));
  // As the app does: direct chats go only to the networks that run here (websocket and xmpp).
  const router = new Router(bridges, { hostedConnectors: ['websocket'], deliveringNetworks: ['websocket', 'xmpp'], ...(opts.directIgnore !== undefined ? { directIgnore: opts.directIgnore } : {}) });
  const routing: Stoppable = bus.startRouting((e) => router.route(e));
  const ws = new WebSocketConnector(config.websocket);
  let xmpp = new XmppConnector(config.xmpp);
  let xmppHost: ConnectorHost | undefined;
  // SWITCHBOARD_TEST_XMPP_LOG=debug shows the connector's log while debugging a test.
  const xmppLogger = process.env['SWITCHBOARD_TEST_XMPP_LOG'] ? createLogger(process.env['SWITCHBOARD_TEST_XMPP_LOG']) : silentLogger;
  const hosts: ConnectorHost[] = [];
  const stopXmpp = async (): Promise<void> => {
    await xmpp.close();
    await xmppHost?.close();
    xmppHost = undefined;
  };
  const startXmpp = async (): Promise<void> => {
    if (xmppHost) throw new Error('xmpp connector already running');
    xmpp = new XmppConnector(config.xmpp);
    xmppHost = await startConnector(xmpp, { bus, routing: router, registry, logger: xmppLogger, ...(opts.media ? { media: opts.media } : {}) });
  };
  const stop = async (): Promise<void> => {
    await stopXmpp();
    await ws.close();
    await routing.close();
    for (const h of hosts) await h.close();
    if (!opts.bus) await bus.close();
  };
  try {
    const wsHost = await startConnector(ws, { bus, routing: router, registry, logger: silentLogger });
    hosts.push(wsHost);
    xmppHost = await startConnector(xmpp, { bus, routing: router, registry, logger: xmppLogger, ...(opts.media ? { media: opts.media } : {}) });
    return {
      bus, registry, get xmpp() { return xmpp; }, wsUrl: `${wsHost.httpUrl.replace(/^http/, 'ws')}${config.websocket.path}`, tokens, roomJid,
      stopXmpp, startXmpp, stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export type After = { after(fn: () => Promise<unknown> | void): void };

/** A throwaway Prosody with alice (nick Alice) in its `lobby` MUC, no bridge yet; all stopped after the test. */
export async function startAliceInLobby(t: After, prosodyOptions: Parameters<typeof startProsody>[0] = {}): Promise<{ prosody: ProsodyServer; alice: TestUser; room: string }> {
  const prosody = await startProsody(prosodyOptions);
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice');
  return { prosody, alice, room };
}

/**
 * The usual room set-up of an XMPP test: a Prosody, alice joined to its MUC `lobby` as "Alice",
 * and the bridge with its relay in the room. Everything is stopped by `t.after`.
 */
export async function startRoomRig(t: After, opts: Parameters<typeof startXmppBridge>[1] = {}, prosodyOptions: Parameters<typeof startProsody>[0] = {}): Promise<{ prosody: ProsodyServer; alice: TestUser; room: string; bridge: XmppBridge }> {
  const { prosody, alice, room } = await startAliceInLobby(t, prosodyOptions);
  const bridge = await startXmppBridge(prosody, opts);
  t.after(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  return { prosody, alice, room, bridge };
}

/** WS clients of these tokens, in this order, each joined to the WS room `lobby`; closed after the test. */
export async function wsInLobby<N extends readonly (keyof XmppBridge['tokens'])[]>(t: After, bridge: XmppBridge, ...names: N): Promise<{ [K in keyof N]: TestClient }> {
  const clients: TestClient[] = [];
  for (const name of names) {
    const client = await connectClient(bridge.wsUrl, bridge.tokens[name]);
    t.after(() => client.close());
    clients.push(client);
  }
  for (const client of clients) await client.request({ type: 'join', room: 'lobby' });
  return clients as { [K in keyof N]: TestClient };
}

/** Whether a `switchboard start` process's /healthz says it holds the component and its stream is online. */
export async function holdsOnline(b: BridgeProcess): Promise<boolean> {
  try {
    const body = await (await fetch(`${b.httpUrl}/healthz`)).text();
    return /"holder":true/.test(body) && /"stream":"online"/.test(body);
  } catch {
    return false;
  }
}
