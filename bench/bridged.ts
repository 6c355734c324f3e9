import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { generateToken, hashToken } from '../src/connectors/websocket/tokens.ts';
import type { FastPaths } from '../src/bus/redis/fast-paths.ts';
import type { LinkSpec, RelayUnderTest } from './link.ts';

/**
 * The real Switchboard path, in this process: config file -> loadConfig -> startApp with the
 * redis bus driver, one bridge (canonical room `a` = WS room `a`), two token-authenticated
 * WebSocket clients speaking protocol v1 (docs/websocket-protocol.md). Every message goes
 * ws -> validation -> ingress queue -> router -> canonical stream + egress (direct or queued) -> ws, which is
 * what issue #2 holds against the naive relay.
 */
const ROOM = 'a';

/** Knobs for profiling runs; `npm run bench` uses the defaults (those of config.yaml). */
export interface BridgedOptions {
  /** bus.batch.maxWaitMs (default: the config default). */
  readonly batchMaxWaitMs?: number;
  /** bus.fastPaths: the shortcuts to switch off (default: all on, as in config.yaml). */
  readonly fastPaths?: Partial<FastPaths>;
  /** mapper.enabled (default: the config default, on). */
  readonly mapper?: boolean;
}

/** Limits the defaults set for the open internet; the bench must measure the bus, not the rate limiter. */
function benchConfigYaml(redisUrl: string, tokens: { name: string; hash: string }[], opts: BridgedOptions): string {
  return [
    'log: { level: silent }',
    'bus:',
    '  driver: redis',
    `  redis: { url: "${redisUrl}", prefix: sbbench }`,
    ...(opts.batchMaxWaitMs !== undefined ? [`  batch: { maxWaitMs: ${opts.batchMaxWaitMs} }`] : []),
    ...(opts.fastPaths ? [`  fastPaths: ${JSON.stringify(opts.fastPaths)}`] : []),
    'http: { host: 127.0.0.1, port: 0, metrics: true }',
    ...(opts.mapper !== undefined ? [`mapper: { enabled: ${opts.mapper} }`] : []),
    'websocket:',
    '  rateLimit: { perSecond: 100000, burst: 1000000 }',
    '  maxBufferedBytes: 67108864',
    '  tokens:',
    ...tokens.map((t) => `    - { name: ${t.name}, hash: "${t.hash}", rooms: ["${ROOM}"] }`),
    'bridgesDir: ./bridges',
    'mappingsDir: ./mappings',
    '',
  ].join('\n');
}


export class BridgedRelay implements RelayUnderTest {
  readonly name = 'switchboard';

  private constructor(
    private readonly app: App,
    private readonly dir: string,
    private readonly tokens: readonly [string, string],
  ) {}

  static async start(redisUrl: string, opts: BridgedOptions = {}): Promise<BridgedRelay> {
    const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
    try {
      const tokens = [generateToken(), generateToken()] as const;
      mkdirSync(join(dir, 'bridges'));
      mkdirSync(join(dir, 'mappings'));
      writeFileSync(join(dir, 'bridges', `${ROOM}.yaml`), `room: ${ROOM}\nendpoints:\n  - websocket: ${ROOM}\n`);
      writeFileSync(join(dir, 'config.yaml'), benchConfigYaml(redisUrl, [
        { name: 'bench-sender', hash: hashToken(tokens[0]) },
        { name: 'bench-receiver', hash: hashToken(tokens[1]) },
      ], opts));
      const loaded = await loadConfig(join(dir, 'config.yaml'));
      const app = await startApp(loaded, {});
      return new BridgedRelay(app, dir, tokens);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  linkSpec(): LinkSpec {
    const url = this.app.listings().find((l) => l.label === 'WebSocket')?.value;
    if (url === undefined) throw new Error('switchboard started without its WebSocket connector');
    return { kind: 'switchboard', url, room: ROOM, tokens: this.tokens };
  }

  async close(): Promise<void> {
    try {
      await this.app.close();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
