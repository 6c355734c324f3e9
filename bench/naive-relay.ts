import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { WebSocket, WebSocketServer } from 'ws';
import type { LinkSpec, RelayUnderTest } from './link.ts';

/**
 * The baseline of issue #2, written the plain way: ws -> one BullMQ queue -> ws. Every incoming
 * WebSocket message becomes one job (`queue.add`, default job options, no batching); one Worker
 * with concurrency 1 (so order holds, as it does in Switchboard) sends each job's data to every
 * other connected client. No auth, routing, mapping, validation or canonical stream.
 */
interface RelayJob {
  from: number;
  data: string;
}

export class NaiveRelay implements RelayUnderTest {
  readonly name = 'naive relay';
  private constructor(
    /** Connected sockets by connection number; the worker sends to all but the job's author. */
    private readonly clients: Map<number, WebSocket>,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    private readonly queue: Queue<RelayJob>,
    private readonly worker: Worker<RelayJob>,
    private readonly connections: Redis[],
    readonly url: string,
  ) {}

  static async start(redisUrl: string, queueName = 'naive-relay'): Promise<NaiveRelay> {
    // BullMQ wants its blocking worker connection to retry forever (maxRetriesPerRequest: null).
    const queueConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const workerConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue<RelayJob>(queueName, { connection: queueConn, defaultJobOptions: { removeOnComplete: true } });
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const clients = new Map<number, WebSocket>();
    const worker = new Worker<RelayJob>(queueName, async (job) => {
      for (const [id, socket] of clients) {
        if (id !== job.data.from && socket.readyState === WebSocket.OPEN) socket.send(job.data.data);
      }
    }, { connection: workerConn, concurrency: 1 });
    let nextId = 1;
    wss.on('connection', (socket) => {
      const id = nextId++;
      clients.set(id, socket);
      socket.on('close', () => clients.delete(id));
      socket.on('message', (data) => {
        queue.add('m', { from: id, data: data.toString() }).catch((err: unknown) => {
          socket.close(1011, String(err));
        });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    await worker.waitUntilReady();
    const { port } = http.address() as AddressInfo;
    return new NaiveRelay(clients, http, wss, queue, worker, [queueConn, workerConn], `ws://127.0.0.1:${port}/`);
  }

  linkSpec(): LinkSpec {
    return { kind: 'naive', url: this.url };
  }

  async close(): Promise<void> {
    for (const socket of this.clients.values()) socket.terminate();
    await this.worker.close();
    await this.queue.close();
    for (const c of this.connections) await c.quit().catch(() => c.disconnect());
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
