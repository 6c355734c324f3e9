import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { tokenCommand } from '../../src/cli/token.ts';
import type { Io } from '../../src/cli/args.ts';
import { makeConfigTree } from './fixture.ts';

/**
 * What `switchboard token` prints is pasted, as its output says, right below the key it names in
 * config.example.yaml (mtproto.accounts, websocket.tokens), and the file still loads with it; a
 * list key left with nothing under it (only comments) is the empty list.
 */

/** The printed entry: the lines after "Add this under <key>", as printed (indented four spaces). */
async function printedEntry(args: string[]): Promise<{ key: string; lines: string[] }> {
  const out: string[] = [];
  const io: Io = { out: (l) => { out.push(l); }, err: (l) => { throw new Error(l); } };
  assert.equal(await tokenCommand(args, io), 0);
  const at = out.findIndex((l) => l.startsWith('Add this under '));
  const key = /^Add this under (\S+)/.exec(out[at] ?? '')?.[1] ?? '';
  return { key, lines: out.slice(at + 1).filter((l) => l.trim() !== '') };
}

/** config.example.yaml with `lines` right below the line `below`, its folders made absolute, loaded from a temp dir. */
async function loadExampleWith(below: string, lines: readonly string[]) {
  const root = process.cwd();
  const example = readFileSync('config.example.yaml', 'utf8')
    .replace('bridgesDir: ./bridges', `bridgesDir: ${join(root, 'bridges')}`)
    .replace('mappingsDir: ./mappings', `mappingsDir: ${join(root, 'mappings')}`);
  assert.ok(example.includes(`\n${below}\n`), `config.example.yaml has the line "${below}"`);
  const tree = makeConfigTree(example.replace(`\n${below}\n`, `\n${below}\n${lines.join('\n')}\n`));
  try {
    return await loadConfig(tree.configFile, { env: {} });
  } finally {
    tree.cleanup();
  }
}

test('an MTProto bot entry from `token --mtproto-bot`, pasted below mtproto.accounts in config.example.yaml, loads', async () => {
  const { key, lines } = await printedEntry(['--mtproto-bot', '5001', '--name', 'relaybot', '--rooms', 'lobby', '--display-name', 'Relay Bot']);
  assert.equal(key, 'mtproto.accounts');
  const loaded = await loadExampleWith('  accounts:', lines);
  assert.deepEqual(loaded.config.mtproto.accounts.map((a) => [a.id, a.bot, a.username, a.firstName, a.rooms]), [[5001, true, 'relaybot', 'Relay Bot', ['lobby']]]);
});

test('a WebSocket token entry from `token`, pasted below websocket.tokens in config.example.yaml, loads', async () => {
  const { key, lines } = await printedEntry(['--name', 'alice', '--rooms', 'lobby']);
  assert.equal(key, 'websocket.tokens');
  const loaded = await loadExampleWith('  tokens:', lines);
  assert.deepEqual(loaded.config.websocket.tokens.map((t) => t.name), ['alice', 'demo-alice', 'demo-bot']);
});

test('config.example.yaml as shipped has no MTProto accounts; a list key with only comments under it is the empty list', async () => {
  assert.deepEqual((await loadExampleWith('  accounts:', [])).config.mtproto.accounts, []);
  const tree = makeConfigTree('websocket:\n  tokens:\n    # - name: someone\nmtproto:\n  accounts:\n  login: {}\n');
  try {
    const loaded = await loadConfig(tree.configFile, { env: {} });
    assert.deepEqual(loaded.config.websocket.tokens, []);
    assert.deepEqual(loaded.config.mtproto.accounts, []);
  } finally {
    tree.cleanup();
  }
});
