// Interop tests that drive a stock client library in Python (Telethon, python websockets,
// slixmpp: Debian's python3-* packages) as a child process: finding a python3 that has the
// library, and reading the script's steps (one JSON object a line on stdout) while writing lines
// to its stdin. The child is tracked and stopped by PID (children.ts), also when the test fails.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { killNow, track } from './children.ts';

/** What a script reports: `{"step": <name>, ...}`. */
export type Step = Record<string, unknown> & { step: string };

/**
 * A python3 that can import `modules` (e.g. 'telethon, rsa'): Debian's /usr/bin/python3 first
 * (where python3-* packages go), else whatever `python3` is on PATH. Throws with the package to
 * install: a test without its library fails, it never skips.
 */
export function pythonWith(modules: string, what: string, debPackage: string): string {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', `import ${modules}`], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return python;
  }
  throw new Error(`${what} is not installed: \`apt-get install ${debPackage}\` (npm test installs it when run as root)`);
}

export interface PythonChild {
  /** The first step with this name (the same one on every call), waiting up to timeoutMs; rejects if the script exits first. */
  step(name: string, timeoutMs?: number): Promise<Step>;
  /** Writes one line to the script's stdin. */
  write(line: string): void;
  readonly exited: Promise<number | null>;
  /** The end of what the script wrote to stderr (for failure messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `python script ...args`; `label` names it in failure messages. Lines that are not JSON objects (a library's chatter) are ignored. */
export function runPythonChild(python: string, script: string, args: readonly string[], label: string, defaultTimeoutMs: number): PythonChild {
  const child = spawn(python, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const steps: Step[] = [];
  const waiting: { name: string; resolve: (s: Step) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    const s = JSON.parse(l) as Step;
    steps.push(s);
    for (const w of waiting.filter((x) => x.name === s.step)) { waiting.splice(waiting.indexOf(w), 1); w.resolve(s); }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const seen = () => steps.map((s) => s.step).join(', ');
  return {
    exited,
    stderr: () => stderr,
    write: (line) => { child.stdin.write(`${line}\n`); },
    stop: () => killNow(child),
    step(name, timeoutMs = defaultTimeoutMs) {
      const found = steps.find((s) => s.step === name);
      if (found) return Promise.resolve(found);
      return new Promise<Step>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label} did not reach "${name}" in ${timeoutMs} ms; steps: ${seen()}; stderr: ${stderr}`)), timeoutMs);
        waiting.push({ name, resolve: (s) => { clearTimeout(timer); resolve(s); } });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`${label} exited (${code}) before "${name}"; steps: ${seen()}; stderr: ${stderr}`)); });
      });
    },
  };
}
