import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/core/logger.ts';
import { startMediaService, type MediaService, type RouteHandler } from '../../src/media/index.ts';
import { MediaConfigSchema } from '../../src/config/media-schema.ts';
import type { ProsodyServer } from '../helpers/prosody.ts';
import type { TestUser } from '../helpers/xmpp-client.ts';
import { tempDir } from '../media/helpers.ts';
import { startRouteServer } from '../media/http-harness.ts';
import { startRoomRig, type XmppBridge } from './bridge-harness.ts';
import { xml } from '@xmpp/client';
import { AttachmentSchema, type Attachment } from '../../src/core/event.ts';
import type { TestClient } from '../helpers/ws-client.ts';

// A 1x1 PNG.
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

type After = { after(fn: () => Promise<unknown> | void): void };

export interface MediaRig {
  /** Base URL of a plain HTTP server that serves `files` (anything else: 404), like a remote upload host. */
  readonly originUrl: string;
  readonly media: MediaService;
  /** Where the media store's routes are served (its signed links start with it). */
  readonly mediaUrl: string;
  readonly prosody: ProsodyServer;
  /** alice, joined to `room` as "Alice". */
  readonly alice: TestUser;
  readonly room: string;
  /** The XMPP bridge with the media store, its relay already in `room`. */
  readonly bridge: XmppBridge;
}

/**
 * What the XMPP media tests share: a remote file host, the media store (allowed to fetch from
 * loopback) on an HTTP server of its own, a Prosody with alice in the MUC `lobby`, and the bridge.
 * Everything is stopped by `t.after`.
 */
export async function startMediaRig(t: After, files: Readonly<Record<string, { readonly type: string; readonly body: Buffer }>>,
  more: { bridge?: Omit<Parameters<typeof startRoomRig>[1], 'media'>; prosody?: Parameters<typeof startRoomRig>[2] } = {}): Promise<MediaRig> {
  const origin = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file) { res.writeHead(200, { 'content-type': file.type }); res.end(file.body); return; }
    res.writeHead(404); res.end();
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => origin.close(() => r())));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  const dir = await tempDir();
  t.after(() => dir.remove());
  let routes: RouteHandler = () => false;
  const mediaServer = await startRouteServer((req, res) => routes(req, res));
  t.after(() => mediaServer.close());
  const media = await startMediaService({
    config: MediaConfigSchema.parse({ dir: './media', urls: { secret: 'm'.repeat(40) }, fetch: { allow: ['127.0.0.1/32'] } }),
    baseDir: dir.path, httpUrl: mediaServer.url, logger: silentLogger,
  });
  routes = media.routes;
  t.after(() => media.close());

  const { prosody, alice, room, bridge } = await startRoomRig(t, { ...more.bridge, media }, more.prosody);
  return { originUrl, media, mediaUrl: mediaServer.url, prosody, alice, room, bridge };
}

/**
 * Files in the media store, as alice's uploads become: she links each (XEP-0066) from the origin
 * host, the bridge fetches it, and `receiver` (a WS client in the room) gets it as an attachment.
 */
export async function storedFiles(rig: Pick<MediaRig, 'alice' | 'room' | 'originUrl'>, receiver: TestClient, names: readonly string[]): Promise<Attachment[]> {
  const files: Attachment[] = [];
  for (const name of names) {
    const url = `${rig.originUrl}/${name}`;
    await rig.alice.send(xml('message', { to: rig.room, type: 'groupchat' }, xml('body', {}, url), xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url), xml('desc', {}, name))));
    const [e] = await receiver.collectEvents(1, 15_000);
    files.push(AttachmentSchema.parse((e?.event['attachments'] as unknown[])[0]));
  }
  return files;
}
