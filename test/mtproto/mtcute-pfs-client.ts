/**
 * A stock mtcute client with perfect forward secrecy (usePfs), as a process of its own: logs in
 * as the bot on 127.0.0.1:<port> (the server's public key, PKCS#1 PEM, in MTCUTE_SERVER_KEY), sends one
 * message to chat <chat> and exits. A process, because mtcute 0.30 leaves a timer for renewing
 * its temporary key running after destroy() (a day long), which would keep a test file alive.
 *
 *   node --import tsx test/mtproto/mtcute-pfs-client.ts <port> <bot token> <chat id> <text>
 */
import { mtcuteClient } from './mtcute-client.ts';

const [port, token, chat, text] = process.argv.slice(2);
const pem = process.env['MTCUTE_SERVER_KEY'];
if (port === undefined || token === undefined || chat === undefined || text === undefined || pem === undefined) {
  console.error('usage: MTCUTE_SERVER_KEY=<public key PEM> mtcute-pfs-client.ts <port> <bot token> <chat id> <text>');
  process.exit(2);
}
const c = mtcuteClient(Number(port), { publicKeyPem: pem }, { usePfs: true });
try {
  const me = await c.start({ botToken: token });
  const sent = await c.sendText(Number(chat), text);
  console.log(JSON.stringify({ me: me.id, sent: sent.id }));
  await c.destroy();
  process.exit(0);
} catch (err) {
  console.error(String(err));
  process.exit(1);
}
