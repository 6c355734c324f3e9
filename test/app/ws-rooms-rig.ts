import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';

/**
 * Apps on the memory bus with only WebSocket rooms, for tests of how bridges/ routes between
 * them (several WS rooms of one canonical room stand for several networks). Everything started
 * through a rig is stopped by its `cleanup` (register it with `after`).
 */
export interface WsRoomsRig {
  /** Starts an app with the rig's WS tokens, config.yaml's `extra` sections and these other files of the config tree. */
  start(files: Record<string, string>, extra?: string): Promise<{ app: App; tree: ConfigTree }>;
  /** The config.yaml the rig writes: its tokens, then `extra` (to rewrite it before a reload). */
  configYaml(extra?: string): string;
  /** A connected client of `token` (its hello read). */
  client(app: App, token: string): Promise<TestClient>;
  /** A client of `token` joined to `room`, with the `joined` answer. */
  joined(app: App, token: string, room: string): Promise<{ client: TestClient; joined: Record<string, unknown> }>;
  cleanup(): Promise<void>;
}

export interface RigToken {
  readonly name: string;
  readonly token: string;
  readonly bot?: boolean;
  readonly moderator?: boolean;
}

export function wsRoomsRig(tokens: readonly RigToken[]): WsRoomsRig {
  const trees: ConfigTree[] = [];
  const apps: App[] = [];
  const clients: TestClient[] = [];
  const config = ['websocket:\n  tokens:\n', ...tokens.map((t) => `    - { name: ${t.name}, hash: "${hashToken(t.token)}"${t.bot === true ? ', scope: bot' : ''}${t.moderator === true ? ', moderator: true' : ''} }\n`)].join('');
  const configYaml = (extra = ''): string => config + extra;
  const client = async (app: App, token: string): Promise<TestClient> => {
    const c = await connectClient(wsUrlOf(app), token);
    clients.push(c);
    return c;
  };
  return {
    configYaml,
    async start(files, extra) {
      const tree = makeConfigTree(configYaml(extra), files);
      trees.push(tree);
      const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 });
      apps.push(app);
      return { app, tree };
    },
    client,
    async joined(app, token, room) {
      const c = await client(app, token);
      const answer = await c.request({ type: 'join', room });
      assert.equal(answer.type, 'joined', JSON.stringify(answer));
      return { client: c, joined: answer };
    },
    async cleanup() {
      for (const c of clients) await c.close().catch(() => undefined);
      for (const app of apps) await app.close();
      for (const tree of trees) tree.cleanup();
    },
  };
}

/** Sends a message and expects its ack. */
export async function say(client: TestClient, room: string, text: string): Promise<void> {
  const ack = await client.request({ type: 'send', room, event: { kind: 'message', text } });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
}

/** The next `n` events the client gets, as their text (`(kind)` for those without). */
export async function texts(client: TestClient, n: number): Promise<string[]> {
  return (await client.collectEvents(n)).map((f) => (f.event as { text?: string }).text ?? `(${(f.event as { kind: string }).kind})`);
}
