// The MTProto connector's settingsChanged (config.yaml reloaded): which paths it answers, so that
// the app names a restart exactly for what it did not put in force, and keeps what it did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadedConfig } from '../../src/config/load.ts';
import type { MtprotoAccountConfig } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { MtprotoConnector } from '../../src/connectors/mtproto/connector.ts';

const account = { id: 5, bot: true, firstName: 'b', tokenHash: `sha256:${'a'.repeat(64)}`, rooms: ['*'] } as MtprotoAccountConfig;
const configWith = (accounts: MtprotoAccountConfig[]) => ({ config: { mtproto: { accounts } } }) as unknown as LoadedConfig;

/** A connector as if started, with a chat layer that takes the accounts with `take`. */
function running(take: () => void): MtprotoConnector {
  const connector = new MtprotoConnector(configWith([]));
  Object.assign(connector as unknown as Record<string, unknown>, {
    logger: silentLogger,
    chat: { accountsChanged: () => { take(); return { changes: [], done: Promise.resolve() }; } },
  });
  return connector;
}

test('settingsChanged: mtproto.accounts when they changed (the app keeps what it answers in force); none when nothing changed or putting them in force failed', () => {
  const taken: number[] = [];
  const connector = running(() => taken.push(1));
  assert.deepEqual(connector.settingsChanged(configWith([])), [], 'nothing changed');
  assert.deepEqual(connector.settingsChanged(configWith([account])), ['mtproto.accounts']);
  assert.deepEqual(connector.settingsChanged(configWith([account])), [], 'unchanged since the last reload (the app took them in force then)');
  assert.deepEqual(connector.settingsChanged(configWith([])), ['mtproto.accounts'], 'back to the start\'s: changed');
  assert.equal(taken.length, 2);

  const failing = running(() => { throw new Error('the chat layer could not take them'); });
  assert.deepEqual(failing.settingsChanged(configWith([account])), [], 'not in force: the app names a restart');
});
