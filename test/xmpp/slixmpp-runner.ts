// The child-process runner for test/xmpp/slixmpp-client.py (a stock slixmpp 1.8 client, Debian's
// python3-slixmpp), shared by the slixmpp interop tests: the room (slixmpp-interop.test.ts) and
// direct chats (slixmpp-direct.test.ts).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { killNow, track } from '../helpers/children.ts';
import { pythonWith } from '../helpers/python-child.ts';
import type { EventFrame, TestClient } from '../helpers/ws-client.ts';

const SCRIPT = fileURLToPath(new URL('./slixmpp-client.py', import.meta.url));

/** A python3 that has slixmpp (test/helpers/python-child.ts). */
export function slixmppPython(): string {
  return pythonWith('slixmpp', 'slixmpp', 'python3-slixmpp');
}

export type Step = Record<string, unknown> & { step: string };

/** The script as a child process: its steps, taken one by one as they match; commands on stdin; stopped by PID. */
export interface SlixmppRun {
  /** The next step not yet taken with this name (and matching `where`), waiting up to timeoutMs. */
  step(name: string, where?: (s: Step) => boolean, timeoutMs?: number): Promise<Step>;
  /** Sends a command and waits for its `done` answer. */
  run(command: Record<string, unknown>, timeoutMs?: number): Promise<Step>;
  /** Asks it to leave and waits for its exit code. */
  quit(): Promise<number | null>;
  stop(): Promise<void>;
}

export function runSlixmpp(args: string[]): SlixmppRun {
  const child = spawn(slixmppPython(), [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const steps: Step[] = [];
  const taken = new Set<Step>();
  let wake: () => void = () => {};
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    steps.push(JSON.parse(l) as Step);
    wake();
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { exitCode = code; wake(); r(code); }));
  let ref = 0;
  const step = async (name: string, where: (s: Step) => boolean = () => true, timeoutMs = 10_000): Promise<Step> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = steps.find((s) => !taken.has(s) && s.step === name && where(s));
      if (found) { taken.add(found); return found; }
      const seen = steps.map((s) => JSON.stringify(s)).join('\n');
      if (exitCode !== undefined) throw new Error(`slixmpp exited (${exitCode}) before "${name}"; steps:\n${seen}\nstderr: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`slixmpp did not reach "${name}" in ${timeoutMs} ms; steps:\n${seen}\nstderr: ${stderr}`);
      await new Promise<void>((r) => { const t = setTimeout(r, deadline - Date.now()); wake = () => { clearTimeout(t); r(); }; });
    }
  };
  return {
    step,
    quit: async () => { child.stdin.write(`${JSON.stringify({ do: 'quit' })}\n`); return await exited; },
    stop: () => killNow(child),
    async run(command, timeoutMs = 15_000) {
      const r = ++ref;
      child.stdin.write(`${JSON.stringify({ ref: r, ...command })}\n`);
      return await step('done', (s) => s['ref'] === r, timeoutMs);
    },
  };
}

/** The next WS event of `kind` (matching `where`) that this client has not taken yet. */
export async function wsEvent(ws: TestClient, kind: string, where: (e: EventFrame['event']) => boolean = () => true): Promise<EventFrame['event']> {
  try {
    const f = await ws.next((x) => x.type === 'event' && (x as EventFrame).event.kind === kind && where((x as EventFrame).event), 10_000) as EventFrame;
    return f.event;
  } catch (err) {
    throw new Error(`no WS ${kind} event: ${(err as Error).message}; events: ${ws.events.map((e) => JSON.stringify(e.event)).join('\n')}`);
  }
}
