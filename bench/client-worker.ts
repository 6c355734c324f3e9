/**
 * Runs one scenario's clients in a worker thread, so that, like real clients, they don't share
 * the relay's event loop: the relay's figures then count the relay's work only, for both relays.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openLink } from './clients.ts';
import type { ClientJob, ClientJobOutcome } from './client-runner.ts';
import { runLatency, runThroughput } from './scenarios.ts';

/** CPU time of this thread so far, ms (/proc/thread-self: Linux); undefined elsewhere. */
function threadCpuMs(): number | undefined {
  try {
    // Fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function run(job: ClientJob): Promise<ClientJobOutcome> {
  const link = await openLink(job.spec);
  try {
    const before = threadCpuMs();
    const used = (): { clientCpuMs?: number } => {
      const after = threadCpuMs();
      return before === undefined || after === undefined ? {} : { clientCpuMs: after - before };
    };
    if (job.scenario === 'throughput') {
      const result = await runThroughput(link, job.options);
      return { ok: true, scenario: 'throughput', result, ...used() };
    }
    const result = await runLatency(link, job.options);
    return { ok: true, scenario: 'latency', result, ...used() };
  } finally {
    await link.close();
  }
}

run(workerData as ClientJob).then(
  (outcome) => parentPort?.postMessage(outcome),
  (err: unknown) => parentPort?.postMessage({ ok: false, error: (err as Error).stack ?? String(err) } satisfies ClientJobOutcome),
);
