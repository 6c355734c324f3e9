import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError, type ConfigIssue } from '../../src/config/load.ts';
import { substituteEnv } from '../../src/config/env.ts';
import { makeConfigTree, LOBBY_BRIDGE } from './fixture.ts';

/** Loads a tree and returns the ConfigError's issues (fails the test if it loads). */
async function issuesOf(config: string, files: Record<string, string>, env: Record<string, string> = {}): Promise<readonly ConfigIssue[]> {
  const tree = makeConfigTree(config, files);
  try {
    await loadConfig(tree.configFile, { env });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  } finally {
    tree.cleanup();
  }
}

function only(issues: readonly ConfigIssue[]): ConfigIssue {
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues)}`);
  return issues[0] as ConfigIssue;
}

describe('loadConfig: valid files', () => {
  test('the shipped config.example.yaml with its bridges and mappings loads', async () => {
    const loaded = await loadConfig('config.example.yaml', { env: {} });
    assert.equal(loaded.config.bus.driver, 'memory');
    assert.equal(loaded.config.http.host, '127.0.0.1');
    assert.equal(loaded.config.http.port, 8080);
    const lobby = loaded.bridges.find((b) => b.room === 'lobby');
    assert.deepEqual(lobby?.endpoints, [
      { connector: 'websocket', address: 'lobby' },
      { connector: 'xmpp', address: 'lobby@conference.example.org' },
      { connector: 'mtproto', address: '1001' },
    ]);
    assert.ok(loaded.bridges.some((b) => b.room === 'ops'));
    assert.ok(loaded.mappings.identities.length >= 1);
    assert.equal(loaded.mappings.presence.states.xmpp?.['chat'], 'available');
  });

  test('defaults fill an almost empty config; the room defaults to the file name; dirs are relative to the config', async () => {
    const tree = makeConfigTree('http: { port: 0 }\nbridgesDir: ./links\n', { 'links/chat.yaml': LOBBY_BRIDGE, 'links/b.yaml': 'room: other\nendpoints: [{mtproto: 42}]\n' });
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      assert.equal(loaded.config.bus.driver, 'memory');
      assert.equal(loaded.config.websocket.path, '/ws');
      assert.deepEqual(loaded.bridges.map((b) => b.room), ['other', 'chat']);
      assert.deepEqual(loaded.bridges[0]?.endpoints, [{ connector: 'mtproto', address: '42' }]);
      assert.deepEqual(loaded.mappings.identities, []);
    } finally {
      tree.cleanup();
    }
  });

  test('an endpoint\'s direction is kept; both (written or not) is left out', async () => {
    const tree = makeConfigTree('{}', { 'bridges/news.yaml': 'endpoints:\n  - xmpp: announce@muc.example.org\n    direction: send-only\n  - websocket: news\n    direction: receive-only\n  - mtproto: 42\n    direction: both\n  - websocket: talk\n' });
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      assert.deepEqual(loaded.bridges[0]?.endpoints, [
        { connector: 'xmpp', address: 'announce@muc.example.org', direction: 'send-only' },
        { connector: 'websocket', address: 'news', direction: 'receive-only' },
        { connector: 'mtproto', address: '42' },
        { connector: 'websocket', address: 'talk' },
      ]);
    } finally {
      tree.cleanup();
    }
  });
});

describe('loadConfig: a room\'s ignore: rules', () => {
  test('senders (one network each, as identities name accounts) and patterns are kept; a file without them has none', async () => {
    const tree = makeConfigTree('{}', {
      'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - xmpp: lobby@muc.example.org\nignore:\n  senders:\n    - xmpp: helpbot@example.org\n    - websocket: ci\n    - mtproto: 777000\n  messages:\n    - "^!"\n    - "(?i)\\\\bbuy now\\\\b"\n',
      'bridges/ops.yaml': 'endpoints:\n  - websocket: ops\n',
    });
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      const lobby = loaded.bridges.find((b) => b.room === 'lobby');
      assert.deepEqual(lobby?.ignore, {
        senders: [{ network: 'xmpp', id: 'helpbot@example.org' }, { network: 'websocket', id: 'ci' }, { network: 'mtproto', id: '777000' }],
        messages: ['^!', '(?i)\\bbuy now\\b'],
      });
      assert.equal(Object.hasOwn(loaded.bridges.find((b) => b.room === 'ops') ?? {}, 'ignore'), false);
    } finally {
      tree.cleanup();
    }
  });

  test('config.yaml\'s ignore: comes first in every room\'s rules; a pattern there that is not RE2 names config.yaml\'s line', async () => {
    const tree = makeConfigTree('ignore:\n  senders:\n    - websocket: spammer\n  messages: ["(?i)free crypto"]\n', {
      'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\nignore:\n  senders:\n    - xmpp: helpbot@example.org\n  messages: ["^!"]\n',
      'bridges/ops.yaml': 'endpoints:\n  - websocket: ops\n',
    });
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      assert.deepEqual(loaded.bridges.find((b) => b.room === 'lobby')?.ignore, {
        senders: [{ network: 'websocket', id: 'spammer' }, { network: 'xmpp', id: 'helpbot@example.org' }],
        messages: ['(?i)free crypto', '^!'],
      });
      assert.deepEqual(loaded.bridges.find((b) => b.room === 'ops')?.ignore, { senders: [{ network: 'websocket', id: 'spammer' }], messages: ['(?i)free crypto'] });
    } finally {
      tree.cleanup();
    }
    const issue = only(await issuesOf('ignore:\n  messages:\n    - "ok"\n    - "(?P<x"\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE }));
    assert.match(issue.file, /config\.yaml$/);
    assert.equal(issue.line, 4);
    assert.equal(issue.path, 'ignore.messages.1');
    assert.match(issue.message, /not an RE2 pattern/);
  });

  test('a sender naming no WS token or MTProto account here is a warning with its line (the rule matches nothing); XMPP addresses are anyone\'s', async () => {
    const tree = makeConfigTree('websocket:\n  tokens:\n    - { name: ci, hash: "sha256:' + '0'.repeat(64) + '" }\nignore:\n  senders:\n    - websocket: nobody\n', {
      'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\nignore:\n  senders:\n    - websocket: ci\n    - websocket: cl\n    - mtproto: 777000\n    - xmpp: anyone@example.org\n',
    });
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      assert.deepEqual(loaded.warnings.map((w) => [w.file.replace(/.*\//, ''), w.line, w.path, w.message]), [
        ['config.yaml', 6, 'ignore.senders.0', 'no WS token is named "nobody": this ignore rule matches nothing'],
        ['lobby.yaml', 6, 'ignore.senders.1', 'no WS token is named "cl": this ignore rule matches nothing'],
        ['lobby.yaml', 7, 'ignore.senders.2', 'no MTProto account has the id 777000: this ignore rule matches nothing'],
      ]);
    } finally {
      tree.cleanup();
    }
  });

  test('a pattern that is not RE2 names its line and why; nothing of the file is loaded', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\nignore:\n  messages:\n    - "^!"\n    - "(a)\\\\1"\n' }));
    assert.equal(issue.line, 6);
    assert.equal(issue.path, 'ignore.messages.1');
    assert.match(issue.message, /not an RE2 pattern \(.*invalid escape sequence/);
    const look = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\nignore:\n  messages: ["(?=x)"]\n' }));
    assert.equal(look.path, 'ignore.messages.0');
  });

  test('a sender naming two networks or none, an unknown key, too many patterns: each refused with its field', async () => {
    const two = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\nignore:\n  senders:\n    - websocket: ci\n      xmpp: ci@example.org\n' }));
    assert.equal(two.path, 'ignore.senders.0');
    assert.match(two.message, /exactly one network/);
    const unknown = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\nignore:\n  nicks: [bob]\n' }));
    assert.equal(unknown.path, 'ignore.nicks');
    const many = only(await issuesOf('{}', { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\nignore:\n  messages: [${Array.from({ length: 17 }, (_, i) => `"p${i}"`).join(', ')}]\n` }));
    assert.equal(many.path, 'ignore.messages');
  });
});

describe('loadConfig: retired settings', () => {
  test('websocket.helloTimeoutMs (never read) still loads, is dropped from the config, and is reported as a warning with its line', async () => {
    const tree = makeConfigTree('http: { port: 0 }\nwebsocket:\n  path: /ws\n  helloTimeoutMs: 5000\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      const loaded = await loadConfig(tree.configFile, { env: {} });
      assert.equal(Object.hasOwn(loaded.config.websocket, 'helloTimeoutMs'), false);
      assert.deepEqual(loaded.warnings.map((w) => [w.line, w.path]), [[4, 'websocket.helloTimeoutMs']]);
      assert.match(loaded.warnings[0]?.message ?? '', /ignored/);
    } finally {
      tree.cleanup();
    }
  });

  test('without retired settings there is no warning; an unknown key is still an error', async () => {
    const tree = makeConfigTree('http: { port: 0 }\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      assert.deepEqual((await loadConfig(tree.configFile, { env: {} })).warnings, []);
    } finally {
      tree.cleanup();
    }
    const issue = only(await issuesOf('websocket:\n  helloTimeout: 5000\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE }));
    assert.equal(issue.path, 'websocket.helloTimeout');
  });
});

describe('loadConfig: malformed bridge files name file, line and field', () => {
  test('bad YAML syntax', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - xmpp: [unclosed\n' }));
    assert.match(issue.file, /bridges\/lobby\.yaml$/);
    assert.ok(issue.line >= 3, `line ${issue.line}`);
    assert.match(issue.message, /YAML syntax/);
  });

  test('unknown field points at its key', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\ncolour: blue\n' }));
    assert.equal(issue.line, 3);
    assert.equal(issue.path, 'colour');
    assert.match(issue.message, /unknown field/);
  });

  test('an endpoint naming two networks', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - websocket: side\n    xmpp: side@muc.example.org\n' }));
    assert.equal(issue.line, 3);
    assert.equal(issue.path, 'endpoints.1');
    assert.match(issue.message, /exactly one network/);
  });

  test('an unknown direction names its line and the three there are; a direction alone names no network', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - xmpp: a@muc.example.org\n    direction: in\n' }));
    assert.equal(issue.line, 4);
    assert.equal(issue.path, 'endpoints.1.direction');
    assert.match(issue.message, /both.*send-only.*receive-only/);
    const alone = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n  - direction: send-only\n' }));
    assert.equal(alone.path, 'endpoints.1');
    assert.match(alone.message, /exactly one network/);
  });

  test('a bad WS room name names the field, as in bridges/lobby.yaml:4: endpoints.1.websocket', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': '# links\nendpoints:\n  - xmpp: a@muc.example.org\n  - websocket: "not ok"\n' }));
    assert.equal(issue.line, 4);
    assert.equal(issue.path, 'endpoints.1.websocket');
    assert.match(issue.message, /WS room names use/);
  });

  test('a WS room name starting with @ is refused: such names are direct chats', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - xmpp: a@muc.example.org\n  - websocket: "@xmpp:alice@example.org"\n' }));
    assert.equal(issue.path, 'endpoints.1.websocket');
    assert.match(issue.message, /starting with @ are direct chats/);
  });

  test('a wrong type', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: [a, b]\n' }));
    assert.equal(issue.line, 2);
    assert.equal(issue.path, 'endpoints.0.websocket');
    assert.match(issue.message, /expected string/);
  });

  test('a room declared in two files names both files', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/a.yaml': 'room: lobby\nendpoints: [{websocket: one}]\n', 'bridges/lobby.yaml': LOBBY_BRIDGE }));
    assert.match(issue.file, /bridges\/lobby\.yaml$/);
    assert.equal(issue.path, 'room');
    assert.match(issue.message, /room "lobby" is already declared in .*bridges\/a\.yaml:1/);
  });

  test('an endpoint linked in two files names both files and lines', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/a.yaml': 'endpoints:\n  - websocket: shared\n', 'bridges/b.yaml': '# b\nendpoints:\n  - xmpp: b@muc.example.org\n  - websocket: shared\n' }));
    assert.match(issue.file, /bridges\/b\.yaml$/);
    assert.equal(issue.line, 4);
    assert.equal(issue.path, 'endpoints.1.websocket');
    assert.match(issue.message, /websocket:shared is already linked \(room "a", .*bridges\/a\.yaml:2\)/);
  });

  test('every problem of every file is reported at once, and the message has file:line: field: lines', async () => {
    const tree = makeConfigTree('http:\n  port: "eighty"\n', { 'bridges/a.yaml': 'endpoints: []\n', 'bridges/b.yaml': 'endpoints:\n  - telegram: x\n' });
    try {
      await assert.rejects(loadConfig(tree.configFile, { env: {} }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        // config.yaml is checked first and alone: nothing else is worth reading with a broken root.
        assert.equal(err.issues.length, 1);
        assert.match(err.message, /config\.yaml:2: http\.port: .*expected number/);
        return true;
      });
      tree.write('config.yaml', 'http: { port: 0 }\n');
      await assert.rejects(loadConfig(tree.configFile, { env: {} }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.issues.map((i) => [i.file.slice(-6), i.line, i.path]), [['a.yaml', 1, 'endpoints'], ['b.yaml', 2, 'endpoints.0.telegram'], ['b.yaml', 2, 'endpoints.0']]);
        return true;
      });
    } finally {
      tree.cleanup();
    }
  });

  test('a missing bridges folder and a key written twice are errors', async () => {
    assert.match(only(await issuesOf('bridgesDir: ./nowhere\n', {})).message, /bridges folder does not exist/);
    const dup = only(await issuesOf('{}', { 'bridges/a.yaml': 'endpoints: [{websocket: a}]\nendpoints: [{websocket: b}]\n' }));
    assert.equal(dup.line, 2);
  });
});

describe('loadConfig: config.yaml, tokens and mappings', () => {
  test('unknown top-level field and bad value are reported with lines', async () => {
    const issues = await issuesOf('bus:\n  driver: postgres\nhttpp: {}\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    assert.deepEqual(issues.map((i) => [i.line, i.path]), [[2, 'bus.driver'], [3, 'httpp']]);
  });

  test('duplicate token names and hashes, and tokens naming unknown rooms', async () => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const config = `websocket:\n  tokens:\n    - name: alice\n      hash: ${hash}\n    - name: alice\n      hash: ${hash}\n      rooms: [lobby, nope]\n`;
    const issues = await issuesOf(config, { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    assert.deepEqual(issues.map((i) => [i.line, i.path]), [[5, 'websocket.tokens.1.name'], [6, 'websocket.tokens.1.hash'], [7, 'websocket.tokens.1.rooms.1']]);
  });

  test('a malformed token hash names its line', async () => {
    const issue = only(await issuesOf('websocket:\n  tokens:\n    - name: bob\n      hash: md5:abc\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE }));
    assert.deepEqual([issue.line, issue.path], [4, 'websocket.tokens.0.hash']);
  });

  test('a short mtproto.saltSecret names its line; one from the environment is accepted', async () => {
    const issue = only(await issuesOf('mtproto:\n  saltSecret: short\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE }));
    assert.deepEqual([issue.line, issue.path], [2, 'mtproto.saltSecret']);
    const tree = makeConfigTree('mtproto:\n  saltSecret: ${SALT}\n', { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      const loaded = await loadConfig(tree.configFile, { env: { SALT: 'x'.repeat(64) } });
      assert.equal(loaded.config.mtproto.saltSecret, 'x'.repeat(64));
    } finally {
      tree.cleanup();
    }
  });

  test('mappings: an unknown table, an identity with no account, one account in two identities', async () => {
    const noAccount = 'identities:\n  - canonical: alice\n    xmpp: alice@example.org\n  - canonical: nobody\n';
    const first = await issuesOf('{}', { 'bridges/lobby.yaml': LOBBY_BRIDGE, 'mappings/identities.yaml': noAccount, 'mappings/colours.yaml': 'a: 1\n' });
    assert.deepEqual(first.map((i) => `${i.file.split('/').pop()}:${i.line}:${i.path}`), ['colours.yaml:0:', 'identities.yaml:4:identities.1']);
    assert.match(first[0]?.message ?? '', /unknown mapping table/);
    const twice = 'identities:\n  - canonical: alice\n    xmpp: alice@example.org\n  - canonical: al\n    xmpp: alice@example.org\n';
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': LOBBY_BRIDGE, 'mappings/identities.yaml': twice }));
    assert.deepEqual([issue.line, issue.path], [5, 'identities.1.xmpp']);
    assert.match(issue.message, /xmpp:alice@example.org already appears in identities.0 \(line 2\)/);
    // The same JID spelt in another case is the same account (it would take the account over).
    const cased = 'identities:\n  - canonical: alice\n    xmpp: Alice@Example.ORG\n  - canonical: impostor\n    xmpp: alice@example.org\n    mtproto: "777000125"\n';
    const casedIssue = only(await issuesOf('{}', { 'bridges/lobby.yaml': LOBBY_BRIDGE, 'mappings/identities.yaml': cased }));
    assert.deepEqual([casedIssue.line, casedIssue.path], [5, 'identities.1.xmpp']);
    assert.match(casedIssue.message, /xmpp:alice@example.org already appears in identities.0/);
    // A file with a schema problem and a duplicate reports both at once (not the duplicate only once the first is fixed).
    const both = await issuesOf('{}', { 'bridges/lobby.yaml': LOBBY_BRIDGE, 'mappings/identities.yaml': `${twice}  - canonical: nobody\n` });
    assert.deepEqual(both.map((i) => `${i.line}:${i.path}`).sort(), ['5:identities.1.xmpp', '6:identities.2']);
  });

  test('presence mapping rejects a state that is not canonical', async () => {
    const issue = only(await issuesOf('{}', { 'bridges/lobby.yaml': LOBBY_BRIDGE, 'mappings/presence.yaml': 'states:\n  xmpp:\n    chat: chatty\n' }));
    assert.deepEqual([issue.line, issue.path], [3, 'states.xmpp.chat']);
  });
});

describe('loadConfig: ${ENV} substitution', () => {
  const config = 'bus:\n  driver: redis\n  redis:\n    url: ${TEST_REDIS_URL}\n    prefix: ${TEST_PREFIX:-sbtest}\nhttp:\n  port: ${TEST_PORT:-0}\n';

  test('a set variable is substituted; a default applies when unset or empty; unquoted numbers become numbers', async () => {
    const tree = makeConfigTree(config, { 'bridges/lobby.yaml': LOBBY_BRIDGE });
    try {
      const a = await loadConfig(tree.configFile, { env: { TEST_REDIS_URL: 'redis://:s3cret@127.0.0.1:6390', TEST_PORT: '9090' } });
      assert.equal(a.config.bus.redis.url, 'redis://:s3cret@127.0.0.1:6390');
      assert.equal(a.config.bus.redis.prefix, 'sbtest');
      assert.equal(a.config.http.port, 9090);
      const b = await loadConfig(tree.configFile, { env: { TEST_REDIS_URL: 'redis://x', TEST_PREFIX: '', TEST_PORT: '0' } });
      assert.equal(b.config.bus.redis.prefix, 'sbtest');
      const c = await loadConfig(tree.configFile, { env: { TEST_REDIS_URL: 'redis://x', TEST_PREFIX: 'p1' } });
      assert.equal(c.config.bus.redis.prefix, 'p1');
      assert.equal(c.config.http.port, 0);
    } finally {
      tree.cleanup();
    }
  });

  test('an unset variable without default is an error naming it, its file and line', async () => {
    const issue = only(await issuesOf(config, { 'bridges/lobby.yaml': LOBBY_BRIDGE }, {}));
    assert.deepEqual([issue.line, issue.path], [4, 'bus.redis.url']);
    assert.match(issue.message, /TEST_REDIS_URL is not set/);
  });

  test('substitution also applies in bridge files, and $${ is a literal', async () => {
    const tree = makeConfigTree('{}', { 'bridges/lobby.yaml': 'description: "cost $${X}"\nendpoints:\n  - xmpp: ${MUC}\n' });
    try {
      const loaded = await loadConfig(tree.configFile, { env: { MUC: 'room@muc.example.org' } });
      assert.deepEqual(loaded.bridges[0]?.endpoints, [{ connector: 'xmpp', address: 'room@muc.example.org' }]);
      assert.deepEqual(substituteEnv('cost $${X} and ${Y:-5}', {}), { ok: true, value: 'cost ${X} and 5', changed: true });
      assert.deepEqual(substituteEnv('${A}${B}', {}), { ok: false, missing: ['A', 'B'] });
    } finally {
      tree.cleanup();
    }
  });
});
