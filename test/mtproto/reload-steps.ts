// A bridges/ reload as the MTProto reload tests make it (what SIGHUP does, through the app).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { mtprotoOf } from '../helpers/app.ts';
import type { ChatBridge } from './chat-harness.ts';

/** Rewrites (text) or removes (undefined) files of bridges/, reloads it, and waits until the MTProto members were told. */
export async function reloadBridgeFiles(bridge: ChatBridge, files: Readonly<Record<string, string | undefined>>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    if (text === undefined) rmSync(join(bridge.tree.dir, path));
    else bridge.tree.write(path, text);
  }
  const outcome = await bridge.app.reloadBridges();
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  await mtprotoOf(bridge.app)!.reloaded;
}
