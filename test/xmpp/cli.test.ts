import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ExitCode } from '../../src/cli/args.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { freePort } from '../helpers/ports.ts';
import { startProsody } from '../helpers/prosody.ts';

interface Run { code: number | null; stdout: string; stderr: string }

/** `switchboard start` as a child process, killed by PID if it outlives the test. */
async function runStart(configFile: string, env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, SWITCHBOARD_LOG_LEVEL: 'silent', NODE_TEST_CONTEXT: '' },
  });
  try {
    return await new Promise<Run>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => reject(new Error(`start did not exit within ${timeoutMs} ms (a retry loop?):\n${stdout}\n${stderr}`)), timeoutMs);
      child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    });
  } finally {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

test('switchboard start with a wrong component secret: one clear error, exit code 3, one handshake at the server', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tree = makeConfigTree([
    `log: { level: silent }\nhttp: { port: ${await freePort()} }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: \${SWITCHBOARD_XMPP_SECRET}\n`,
  ].join(''), { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - xmpp: lobby@${prosody.mucDomain}\n` });
  t.after(() => tree.cleanup());
  const r = await runStart(tree.configFile, { SWITCHBOARD_XMPP_SECRET: 'not-the-secret' });
  assert.equal(r.code, ExitCode.Failed, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /switchboard could not start: the XMPP server refused the component secret for bridge\.localhost/);
  assert.equal(prosody.log().split('\n').filter((l) => l.includes('Component authentication failed')).length, 1);
});
