/**
 * Runs one scenario's clients in a worker thread, so that, like real clients, they don't share
 * the relay's event loop: the relay's figures then count the relay's work only, for both relays.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openLink } from './clients.ts';
import type { ClientJob, ClientJobOutcome } from './client-runner.ts';
import { runLatency, runThroughput } from './scenarios.ts';

async function run(job: ClientJob): Promise<ClientJobOutcome> {
  const link = await openLink(job.spec);
  try {
    if (job.scenario === 'throughput') return { ok: true, scenario: 'throughput', result: await runThroughput(link, job.options) };
    return { ok: true, scenario: 'latency', result: await runLatency(link, job.options) };
  } finally {
    await link.close();
  }
}

run(workerData as ClientJob).then(
  (outcome) => parentPort?.postMessage(outcome),
  (err: unknown) => parentPort?.postMessage({ ok: false, error: (err as Error).stack ?? String(err) } satisfies ClientJobOutcome),
);
