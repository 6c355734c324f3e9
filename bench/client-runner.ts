import { Worker } from 'node:worker_threads';
import type { LinkSpec } from './link.ts';
import type { LatencyOptions, LatencyResult, ThroughputOptions, ThroughputResult } from './scenarios.ts';

export type ClientJob =
  | { readonly spec: LinkSpec; readonly scenario: 'throughput'; readonly options: ThroughputOptions }
  | { readonly spec: LinkSpec; readonly scenario: 'latency'; readonly options: LatencyOptions };

export type ClientJobOutcome =
  | { readonly ok: true; readonly scenario: 'throughput'; readonly result: ThroughputResult; readonly clientCpuMs?: number }
  | { readonly ok: true; readonly scenario: 'latency'; readonly result: LatencyResult; readonly clientCpuMs?: number }
  | { readonly ok: false; readonly error: string };

/**
 * A worker thread does not get the `--import tsx` hooks of its parent, so it registers tsx
 * itself before loading the .ts entry (both resolved here, where tsx is known to resolve).
 */
const WORKER_BOOT = `
import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./client-worker.ts', import.meta.url).href)}); });
`;

/** Budget on top of a scenario's own bounds for starting the thread and connecting. */
const WORKER_SLACK_MS = 15_000;

function budgetOf(job: ClientJob): number {
  return job.scenario === 'throughput' ? job.options.maxSendMs + job.options.drainTimeoutMs : (job.options.warmupMs ?? 0) + job.options.durationMs + job.options.drainTimeoutMs;
}

/** Runs a scenario's clients in a worker thread (killed if it outlives the scenario's bounds). */
async function runJob(job: ClientJob): Promise<ClientJobOutcome> {
  const worker = new Worker(WORKER_BOOT, { eval: true, workerData: job });
  try {
    return await new Promise<ClientJobOutcome>((resolve, reject) => {
      const limit = budgetOf(job) + WORKER_SLACK_MS;
      const timer = setTimeout(() => reject(new Error(`${job.scenario} clients still running after ${limit} ms`)), limit);
      worker.once('message', (m: ClientJobOutcome) => { clearTimeout(timer); resolve(m); });
      worker.once('error', (err) => { clearTimeout(timer); reject(err); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`client worker exited (${code}) without a result`)); });
    });
  } finally {
    await worker.terminate();
  }
}

export async function throughputClients(spec: LinkSpec, options: ThroughputOptions): Promise<ThroughputResult> {
  return (await throughputClientsWithCpu(spec, options)).result;
}

/** The same, with the CPU time the clients' thread used while the scenario ran (Linux only). */
export async function throughputClientsWithCpu(spec: LinkSpec, options: ThroughputOptions): Promise<{ result: ThroughputResult; clientCpuMs?: number }> {
  const out = await runJob({ spec, scenario: 'throughput', options });
  if (!out.ok) throw new Error(out.error);
  if (out.scenario !== 'throughput') throw new Error('client worker answered another scenario');
  return { result: out.result, ...(out.clientCpuMs !== undefined ? { clientCpuMs: out.clientCpuMs } : {}) };
}

export async function latencyClients(spec: LinkSpec, options: LatencyOptions): Promise<LatencyResult> {
  const out = await runJob({ spec, scenario: 'latency', options });
  if (!out.ok) throw new Error(out.error);
  if (out.scenario !== 'latency') throw new Error('client worker answered another scenario');
  return out.result;
}
