import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode } from '../../src/cli/args.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { freePort } from '../helpers/ports.ts';
import { startProsody } from '../helpers/prosody.ts';
import { runStart } from '../helpers/run-start.ts';


test('switchboard start with a wrong component secret: one clear error, exit code 3, one handshake at the server', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tree = makeConfigTree([
    `log: { level: silent }\nhttp: { port: ${await freePort()} }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: \${SWITCHBOARD_XMPP_SECRET}\n`,
  ].join(''), { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - xmpp: lobby@${prosody.mucDomain}\n` });
  t.after(() => tree.cleanup());
  const r = await runStart(tree.configFile, { env: { SWITCHBOARD_XMPP_SECRET: 'not-the-secret' }, timeoutMs: 30_000 });
  assert.equal(r.code, ExitCode.Failed, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /switchboard could not start: the XMPP server refused the component secret for bridge\.localhost/);
  assert.equal(prosody.log().split('\n').filter((l) => l.includes('Component authentication failed')).length, 1);
});
