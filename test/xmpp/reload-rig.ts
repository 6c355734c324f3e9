import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { Direction } from '../../src/core/endpoint.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { wsUrlOf } from '../helpers/app.ts';
import { connectClient, type EventFrame, type ServerFrame, type TestClient } from '../helpers/ws-client.ts';
import type { ProsodyServer } from '../helpers/prosody.ts';
import type { TestUser } from '../helpers/xmpp-client.ts';
import { metricValue } from '../websocket/harness.ts';
import { startAliceInLobby, type After } from './bridge-harness.ts';

/**
 * An app (memory bus) as a Prosody's component, its bridges/ reloaded by the tests as SIGHUP does:
 * a bridge file written or removed, then `app.reloadBridges()`. Two MUCs exist beforehand, `lobby`
 * and `dev`, alice in both (as Alice); each linked one is linked with the WS room of its name.
 * The WS user carol (display name Carol) talks from the WS side.
 */
export interface ReloadRig {
  readonly prosody: ProsodyServer;
  readonly alice: TestUser;
  readonly app: App;
  readonly tree: ConfigTree;
  /** The MUC JID of a room name (`dev` -> dev@<muc domain>). */
  muc(name: string): string;
  /** Links the MUC `name` with the WS room `ws` (default: the same name) as canonical room `room` (default: the file's name), the MUC bridged `direction` (default: both). */
  link(name: string, opts?: { ws?: string; file?: string; direction?: Direction }): Promise<void>;
  /** Removes the bridge file `file` (default: the room's name) and reloads. */
  unlink(file: string): Promise<void>;
  /** carol on WS, joined to these WS rooms; closed after the test. */
  carolIn(...rooms: string[]): Promise<TestClient>;
  /** alice says `text` in the MUC `name`. */
  aliceSays(name: string, text: string): Promise<void>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export const CAROL = 'sb_test_carol_xmpp_room_reload';

export const isText = (text: string) => (f: ServerFrame): boolean => f.type === 'event' && (f as EventFrame).event['text'] === text;

/** A presence of `from` (an occupant JID): available when `type` is undefined. */
export const presenceOf = (from: string, type?: 'unavailable') => (el: Element): boolean =>
  el.name === 'presence' && el.attrs['from'] === from && el.attrs['type'] === type;

/** The texts of the messages a WS client got in one WS room. */
export const textsIn = (client: TestClient, room: string): unknown[] =>
  client.events.filter((e) => e.room === room && e.event.kind === 'message').map((e) => e.event['text']);

export async function startReloadRig(t: After, opts: { linked: readonly string[]; xmpp?: string }): Promise<ReloadRig> {
  const { prosody, alice } = await startAliceInLobby(t);
  const muc = (name: string): string => `${name}@${prosody.mucDomain}`;
  await alice.joinMuc(muc('dev'), 'Alice');
  const bridgeFile = (name: string, ws: string, direction?: Direction): string =>
    `endpoints:\n  - websocket: ${ws}\n  - xmpp: ${muc(name)}\n${direction !== undefined ? `    direction: ${direction}\n` : ''}`;
  const tree = makeConfigTree([
    `websocket:\n  tokens:\n    - { name: carol, hash: "${hashToken(CAROL)}", displayName: Carol }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: \${SECRET}\n  reflectionTimeoutMs: 30000\n${opts.xmpp ?? ''}`,
  ].join(''), Object.fromEntries(opts.linked.map((name) => [`bridges/${name}.yaml`, bridgeFile(name, name)])));
  t.after(() => tree.cleanup());
  const since = alice.mark();
  // SWITCHBOARD_TEST_XMPP_LOG=debug shows the app's log while debugging a test.
  const level = process.env['SWITCHBOARD_TEST_XMPP_LOG'];
  const app = await startApp(await loadConfig(tree.configFile, { env: { SECRET: prosody.componentSecret } }), { logger: level ? createLogger(level) : silentLogger, httpPortOverride: 0 });
  t.after(() => app.close());
  for (const name of opts.linked) await alice.waitFor(presenceOf(`${muc(name)}/Switchboard`), `the relay joining ${name}`, { since });
  const reload = async (): Promise<void> => {
    const outcome = await app.reloadBridges();
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
  };
  return {
    prosody, alice, app, tree, muc,
    async link(name, o = {}) {
      tree.write(`bridges/${o.file ?? name}.yaml`, bridgeFile(name, o.ws ?? name, o.direction));
      await reload();
    },
    async unlink(file) {
      rmSync(join(tree.dir, 'bridges', `${file}.yaml`));
      await reload();
    },
    async carolIn(...rooms) {
      const carol = await connectClient(wsUrlOf(app), CAROL);
      t.after(() => carol.close());
      for (const room of rooms) {
        const joined = await carol.request({ type: 'join', room, since: null });
        assert.equal(joined.type, 'joined', JSON.stringify(joined));
      }
      return carol;
    },
    aliceSays: (name, text) => alice.send(xml('message', { to: muc(name), type: 'groupchat' }, xml('body', {}, text))),
    metric: (name, labels = {}) => metricValue(app.registry, name, labels),
  };
}
