import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { checkCommand } from '../../src/cli/check.ts';
import type { Io } from '../../src/cli/args.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { freePort } from '../helpers/ports.ts';
import { makeConfigTree, LOBBY_BRIDGE } from './fixture.ts';

/**
 * Replaces net.Socket.prototype.connect and net.Server.prototype.listen with spies that record the
 * attempt and throw, runs `fn`, then restores them. Every TCP client (ioredis, fetch/undici,
 * net.connect) goes through Socket.prototype.connect; every listener through Server.prototype.listen.
 */
async function withNetworkForbidden<T>(fn: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; attempts: string[] }> {
  const attempts: string[] = [];
  const connect = net.Socket.prototype.connect;
  const listen = net.Server.prototype.listen;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]): never {
    attempts.push(`connect ${JSON.stringify(args[0])}`);
    throw new Error('network forbidden in this test: Socket.connect');
  } as typeof connect;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]): never {
    attempts.push(`listen ${JSON.stringify(args[0])}`);
    throw new Error('network forbidden in this test: Server.listen');
  } as typeof listen;
  try {
    return { result: await fn(), error: undefined, attempts };
  } catch (error) {
    return { result: undefined, error, attempts };
  } finally {
    net.Socket.prototype.connect = connect;
    net.Server.prototype.listen = listen;
  }
}

test('`switchboard check` opens no network connection and no listener (redis bus on a closed port, mtproto on): exit 0', async () => {
  const closedPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${closedPort}`;
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    `bus:\n  driver: redis\n  redis:\n    url: ${redisUrl}\n`,
    'mtproto:\n  enabled: true\n  port: 0\n  rsaKeyFile: ./keys/rsa.pem\n',
  ].join(''), { 'bridges/lobby.yaml': LOBBY_BRIDGE });
  try {
    mkdirSync(join(tree.dir, 'keys'));
    writeServerKey(join(tree.dir, 'keys', 'rsa.pem'));

    let stdout = '';
    let stderr = '';
    const io: Io = { out: (l) => { stdout += `${l}\n`; }, err: (l) => { stderr += `${l}\n`; } };
    const run = await withNetworkForbidden(() => checkCommand(['--config', tree.configFile], io));
    assert.equal(run.error, undefined, `check threw: ${String(run.error)}`);
    assert.deepEqual(run.attempts, [], 'check must not connect or listen');
    assert.equal(run.result, 0, stderr);
    assert.match(stdout, /bus: +redis/);
    assert.match(stdout, /mtproto: +127\.0\.0\.1:0, key .*rsa\.pem/);

    // Control: the spy does catch a Redis client's connect, so an empty list above means something.
    const control = await withNetworkForbidden(async () => {
      const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      redis.on('error', () => undefined);
      try { await redis.connect(); } finally { redis.disconnect(); }
    });
    assert.ok(control.attempts.some((a) => a.startsWith('connect')), `the spy saw no connect: ${JSON.stringify(control)}`);
  } finally {
    tree.cleanup();
  }
});
