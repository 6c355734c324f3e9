import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { mapperTables } from '../../src/app/mapper-wiring.ts';
import { makeConfigTree } from '../config/fixture.ts';

/** The mapper's keys in mappings/ and config.yaml: defaults, and errors with file:line:field. */

test('display-name templates, avatars and the mapper section load with their defaults, and become the mapper tables', async () => {
  const tree = makeConfigTree('mapper: { quoteChars: 40 }\n', {
    'mappings/identities.yaml': [
      'displayNames:',
      '  xmpp: "{name} [{network}]"',
      '  networks: { mtproto: Telegram }',
      'identities:',
      '  - { canonical: alice, displayName: Alice, avatar: "https://example.org/a.png", websocket: demo-alice, xmpp: alice@example.org }',
      '',
    ].join('\n'),
  });
  try {
    const loaded = await loadConfig(tree.configFile);
    assert.deepEqual(loaded.config.mapper, { enabled: true, recentMessages: 10_000, quoteChars: 40, maxTrackedStates: 100_000 });
    const tables = mapperTables(loaded.mappings);
    assert.deepEqual(tables.displayNames, { default: '{name} ({network})', byTarget: { xmpp: '{name} [{network}]' }, networkNames: { mtproto: 'Telegram' } });
    assert.deepEqual(tables.identities, [{ canonical: 'alice', displayName: 'Alice', avatar: 'https://example.org/a.png', accounts: { websocket: 'demo-alice', xmpp: 'alice@example.org' } }]);
    assert.equal(tables.coalesceMs, 2_000);
  } finally {
    tree.cleanup();
  }
});

test('an unknown placeholder in a template, or a bad avatar, is an error at its line', async () => {
  const tree = makeConfigTree('{}\n', {
    'mappings/identities.yaml': 'displayNames:\n  default: "{nick} ({network})"\nidentities:\n  - { canonical: a, xmpp: a@x.org, avatar: not-a-url }\n',
  });
  try {
    const err = await loadConfig(tree.configFile).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError);
    const lines = err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`);
    assert.ok(lines.some((l) => l.startsWith('2 displayNames.default: unknown placeholder')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('4 identities.0.avatar')), lines.join('\n'));
  } finally {
    tree.cleanup();
  }
});
