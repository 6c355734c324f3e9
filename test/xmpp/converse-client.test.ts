import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, servePageOrigin } from '../helpers/chromium.ts';
import { startProsody, type ProsodyServer } from '../helpers/prosody.ts';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { startXmppBridge } from './bridge-harness.ts';

/**
 * The XMPP side tried with a real, widely used web client: Converse.js 14 (npm `converse.js`,
 * its dist/ served from node_modules) in headless Chromium, logged in as alice over XMPP over
 * WebSocket (RFC 7395, the test Prosody's mod_websocket), in the linked room. A WS user, carol,
 * talks with her through the bridge. What Converse shows is read from its DOM, as the user sees
 * it; the page's small plugin (converse-client.html) hands the test Converse's api, used only to
 * wait for models, to read what Converse knows but does not show (an occupant's affiliation, the
 * room's disco#info, the commands it offers) and to act where the UI would need many clicks.
 *
 * Chromium must be installed (`apt-get install chromium`; npm test does it as root).
 */

const DIST = join(fileURLToPath(new URL('../../node_modules/converse.js/dist/', import.meta.url)));
const PAGE_HTML = readFileSync(new URL('./converse-client.html', import.meta.url), 'utf8');
/** A 1x1 PNG: carol's file. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const TYPES: Record<string, string> = { js: 'text/javascript', css: 'text/css', json: 'application/json', wasm: 'application/wasm', png: 'image/png', svg: 'image/svg+xml', woff2: 'font/woff2', mp3: 'audio/mpeg', ogg: 'audio/ogg' };

/** The page, Converse's dist/ under /converse/, and carol's picture at /files/dot.png. */
function servePage(): Promise<{ server: Server; origin: string }> {
  return servePageOrigin((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_HTML);
      return;
    }
    if (path === '/files/dot.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'access-control-allow-origin': '*' });
      res.end(PNG);
      return;
    }
    const file = join(DIST, decodeURIComponent(path.slice('/converse/'.length)));
    if (path.startsWith('/converse/') && file.startsWith(DIST) && !file.includes(`${sep}..`) && existsSync(file)) {
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    res.writeHead(404);
    res.end();
  });
}

/** What Converse shows of one message (window.probe.shown in the page), by the id Converse keeps for it (data-msgid). */
interface Shown { count: number; author?: string; edited?: boolean; text?: string; html?: string; reply?: string; reactions?: string; retracted?: string; images?: string[]; imagesLoaded?: boolean }

/** Calls window.probe.<method>(...args) in the page (the page has the DOM code; args go as JSON). */
function probe<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(`window.probe.${method}(...${JSON.stringify(args)})`) as Promise<T>;
}

function shown(page: Page, msgidPrefix: string): Promise<Shown> {
  return probe<Shown>(page, 'shown', msgidPrefix);
}

/** Polls `probe` until `ok` holds (or 10 s), then returns the last look for the assertion. */
async function poll<T>(look: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await look();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The next event carol gets that matches (skipping others: typing, presence, membership). */
async function nextEvent(client: TestClient, match: (e: EventFrame['event']) => boolean): Promise<EventFrame['event']> {
  const frame = await client.next((f) => f.type === 'event' && match((f as EventFrame).event), 10_000);
  return (frame as EventFrame).event;
}

function until(page: Page, msgidPrefix: string, ok: (s: Shown) => boolean): Promise<Shown> {
  return poll(() => shown(page, msgidPrefix), ok);
}

/** A page for Converse, its console kept (printed with SWITCHBOARD_TEST_CONVERSE_LOG set). */
async function newPage(browser: Browser): Promise<{ page: Page; consoleLines: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(15_000);
  return { page, consoleLines };
}

/** Converse on the page, logged in as alice (nick Alice), once it shows `room` entered (it creates the room if there is none). */
async function startAlice(page: Page, origin: string, prosody: ProsodyServer, room: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.waitForFunction('"converse" in window && "startConverse" in window');
  await page.evaluate(`window.startConverse(${JSON.stringify({
    assets_path: '/converse/',
    view_mode: 'fullscreen',
    auto_login: true,
    jid: `alice@${prosody.domain}`,
    password: 'alice-pw',
    websocket_url: prosody.websocketUrl,
    discover_connection_methods: false,
    persistent_store: 'sessionStorage',
    nickname: 'Alice',
    auto_join_rooms: [room],
    play_sounds: false,
    show_retraction_warning: false,
    loglevel: 'warn',
  })})`);
  // Converse shows the room once it has entered it.
  await page.waitForSelector(`converse-muc[jid="${room}"] converse-muc-chatarea`);
}

test('Converse.js in Chromium, logged in over XMPP-over-WebSocket, chats with a WS user through the bridge: styling, corrections, replies, reactions, retractions and a file show as Converse shows them; its own messages, corrections and retractions reach WS as edit and retract of the right message; a WS moderator\'s removal of its message shows as the room\'s moderation', { timeout: 90_000 }, async (t) => {
  const { server, origin } = await servePage();
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const prosody = await startProsody({ users: { alice: 'alice-pw' }, websocket: { origins: [origin] }, mucModeration: true, mucChangeSubject: true });
  t.after(() => prosody.destroy());
  const bridge = await startXmppBridge(prosody, { moderators: ['dave'] });
  t.after(() => bridge.stop());
  const browser: Browser = await launchChromium();
  t.after(() => browser.close());
  const carol: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });

  const { page, consoleLines } = await newPage(browser);
  const room = bridge.roomJid;
  try {
    await startAlice(page, origin, prosody, room);

    const occupants = async (): Promise<string[]> => (await probe<string[]>(page, 'occupants')).sort();
    const textarea = page.locator(`converse-muc[jid="${room}"] textarea.chat-textarea`);

    // --- WS -> Converse -----------------------------------------------------------------------
    // Spans become XEP-0393 styling, which Converse renders (showing the directives, greyed).
    const styled = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hello bold and italic', spans: [{ type: 'bold', offset: 6, length: 4 }, { type: 'italic', offset: 15, length: 6 }] } });
    assert.equal(styled['type'], 'ack', JSON.stringify(styled));
    const carolSaid = `sb-${String(styled['id'])}-`;
    let seen = await until(page, carolSaid, (s) => /<b>bold<\/b>/.test(s.html ?? '') && /<i>italic<\/i>/.test(s.html ?? ''));
    assert.ok(/<b>bold<\/b>/.test(seen.html ?? '') && /<i>italic<\/i>/.test(seen.html ?? ''), `Alice sees "bold" in bold and "italic" in italics: ${JSON.stringify(seen)}`);
    assert.equal(seen.author, 'Carol', 'from Carol');

    // The puppet is an occupant, by its nick, beside the relay and Alice.
    assert.deepEqual(await poll(occupants, (o) => o.includes('Carol')), ['Alice', 'Carol', 'Switchboard'], 'Alice\'s occupant list: Carol\'s puppet, the relay and herself');

    // A correction replaces the text in place: one message, marked edited.
    const edit = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: styled['id'], text: 'hello bold, corrected', spans: [{ type: 'bold', offset: 6, length: 4 }] } });
    assert.equal(edit['type'], 'ack', JSON.stringify(edit));
    seen = await until(page, carolSaid, (s) => s.text === 'hello *bold*, corrected');
    assert.equal(seen.text, 'hello *bold*, corrected', `Alice sees the corrected text: ${JSON.stringify(seen)}`);
    assert.equal(seen.count, 1, 'in place of the first, not as a second message');
    assert.equal(seen.edited, true, 'with Converse\'s "edited" mark');
    assert.equal(await page.locator('converse-chat-message', { hasText: 'hello bold and italic' }).count(), 0, 'the old text is gone');

    // --- Converse -> WS: Alice types a message and presses Enter --------------------------------
    await textarea.fill('hi from Converse');
    await textarea.press('Enter');
    const fromAlice = await nextEvent(carol, (e) => e.kind === 'message' && e['text'] === 'hi from Converse');
    assert.deepEqual(fromAlice['sender'], { network: 'xmpp', id: `alice@${prosody.domain}`, name: 'Alice' });

    // Carol replies to it: Converse shows the quoted message above the reply.
    const reply = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a reply to Alice', replyTo: fromAlice.id } });
    const carolReplied = `sb-${String(reply['id'])}-`;
    seen = await until(page, carolReplied, (s) => s.count > 0 && s.reply !== '');
    assert.equal(seen.text, 'a reply to Alice');
    assert.equal(seen.reply, 'Alice hi from Converse', `Alice sees the reply with her message quoted: ${JSON.stringify(seen)}`);

    // Carol reacts to it: Converse shows the emoji and its count under Alice's message.
    const reaction = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: fromAlice.id, reactions: ['👍'] } });
    assert.equal(reaction['type'], 'ack', JSON.stringify(reaction));
    const reactions = await poll(() => probe<string>(page, 'reactionsOn', 'hi from Converse'), (r) => r !== '');
    assert.match(reactions, /^👍\s*1$/, 'Alice sees 👍 1 under her message');

    // Alice corrects her message: UP in the empty field takes her last message to edit.
    await textarea.press('ArrowUp');
    assert.equal(await textarea.inputValue(), 'hi from Converse', 'UP took her last message into the field');
    await textarea.fill('hi from Converse, corrected');
    await textarea.press('Enter');
    const aliceEdit = await nextEvent(carol, (e) => e.kind === 'edit');
    assert.deepEqual([aliceEdit['target'], aliceEdit['text']], [fromAlice.id, 'hi from Converse, corrected'], 'carol gets an edit of Alice\'s message');

    // Carol retracts her reply. The bridge names it by the room's stanza-id (XEP-0424 in a room);
    // Converse 14 looks a retraction up by origin-id only, so it keeps showing the message (and
    // keeps the retraction aside as "dangling", waiting for a message with that id).
    const retract = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: reply['id'] } });
    assert.equal(retract['type'], 'ack', JSON.stringify(retract));
    const dangling = await poll(() => probe<string[]>(page, 'danglingRetractions', room), (d) => d.length > 0);
    assert.equal(dangling.length, 1, 'Converse got the retraction');
    seen = await shown(page, carolReplied);
    assert.deepEqual([seen.count, seen.text, seen.retracted], [1, 'a reply to Alice', ''], 'Converse 14 got the retraction but still shows the reply (its gap, see docs/xmpp.md)');

    // A file: an XEP-0066 link; Converse shows the picture.
    const file = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', attachments: [{ id: 'dot', name: 'dot.png', mime: 'image/png', size: PNG.length, sha256: createHash('sha256').update(PNG).digest('hex'), url: `${origin}/files/dot.png` }] } });
    assert.equal(file['type'], 'ack', JSON.stringify(file));
    seen = await until(page, `sb-${String(file['id'])}-`, (s) => (s.images ?? []).length > 0 && s.imagesLoaded === true);
    assert.deepEqual(seen.images, [`${origin}/files/dot.png`], `Alice sees the picture inline: ${JSON.stringify(seen)}`);
    assert.equal(seen.imagesLoaded, true, 'loaded and shown');

    // Alice retracts her message through its menu (Retract, then OK).
    const aliceMsg = page.locator('converse-chat-message .chat-msg', { hasText: 'hi from Converse, corrected' });
    await aliceMsg.locator('converse-dropdown button.dropdown-toggle').click();
    await aliceMsg.locator('.chat-msg__action-retract').click();
    await page.locator('.modal.show .btn-primary').click();
    const aliceRetract = await nextEvent(carol, (e) => e.kind === 'retract');
    assert.equal(aliceRetract['target'], fromAlice.id, 'carol gets a retract of Alice\'s message');

    // A WS moderator (dave) removes Alice's spam. The relay made the room (it joined first), so it
    // is its owner: it asks the room (XEP-0425), and Converse shows the message removed by it.
    await textarea.fill('spam from Converse');
    await textarea.press('Enter');
    const spam = await nextEvent(carol, (e) => e.kind === 'message' && e['text'] === 'spam from Converse');
    const spamId = await poll(() => probe<string>(page, 'msgidOf', 'spam from Converse'), (id) => id !== '');
    const dave = await connectClient(bridge.wsUrl, bridge.tokens.dave);
    t.after(() => dave.close());
    await dave.request({ type: 'join', room: 'lobby' });
    const removal = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: spam.id, moderation: { reason: 'spam' } } });
    assert.equal(removal['type'], 'ack', JSON.stringify(removal));
    seen = await until(page, spamId, (s) => (s.retracted ?? '') !== '');
    assert.match(seen.retracted ?? '', /^Switchboard has removed a message\b.*\bspam$/, `Alice sees her message removed by the room's moderator, with the reason: ${JSON.stringify(seen)}`);
    assert.equal(seen.text, '', 'its text is gone');
    // And carol's message, which Converse does not take back from her puppet's retraction (above):
    // the relay's moderation of it follows the puppet's, and Converse shows that.
    const carolSpam = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'cheap watches' } });
    const carolSpamSaid = `sb-${String(carolSpam['id'])}-`;
    await until(page, carolSpamSaid, (s) => s.text === 'cheap watches');
    await dave.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: carolSpam['id'], moderation: {} } });
    seen = await until(page, carolSpamSaid, (s) => (s.retracted ?? '') !== '');
    assert.match(seen.retracted ?? '', /^Switchboard has removed a message$/, `Alice sees carol's message removed by the room's moderator: ${JSON.stringify(seen)}`);

    // --- Topics --------------------------------------------------------------------------------
    // WS -> Converse: dave's topic is the room's subject, set by the relay (the room's owner): Converse
    // shows it under the room's name in its heading, noting who set it (the relay, by its nick).
    const topic = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'Welcome to the lobby' } });
    assert.equal(topic['type'], 'ack', JSON.stringify(topic));
    assert.equal(await poll(() => probe<string>(page, 'subject', room), (s) => s !== ''), 'Welcome to the lobby', 'Converse\'s heading shows the topic');
    assert.ok((await probe<string[]>(page, 'notices', room)).includes('Topic set by Switchboard'));
    // Converse -> WS, Alice a participant in a room that lets every occupant change the subject (the
    // test Prosody's rooms do here): Converse 14 offers /topic only to an owner or admin, or when the
    // room's disco#info has muc#roominfo_changesubject; Prosody 0.12 tells it as muc#roomconfig_changesubject,
    // so Converse sends "/topic ..." as a message, bridged as one (their gap, not the bridge's: docs/xmpp.md).
    assert.equal(await probe<string>(page, 'roomInfoField', room, 'muc#roomconfig_changesubject'), '1', 'the room says every occupant may');
    assert.ok(!(await probe<string[]>(page, 'allowedCommands', room)).includes('topic'), 'Converse 14 does not offer /topic here');
    await textarea.fill('/topic Lunch at one');
    await textarea.press('Enter');
    await nextEvent(carol, (e) => e.kind === 'message' && e['text'] === '/topic Lunch at one');
    assert.equal(await probe<string>(page, 'subject', room), 'Welcome to the lobby', 'the subject stays');

    // Nobody was thrown out on the way, and Converse showed no error.
    assert.deepEqual(await occupants(), ['Alice', 'Carol', 'Switchboard'], 'everyone is still in the room');
    assert.deepEqual(await probe<string[]>(page, 'errors'), [], 'Converse shows no error');
  } finally {
    if (process.env['SWITCHBOARD_TEST_CONVERSE_LOG']) console.log(consoleLines.join('\n'));
    await page.close().catch(() => undefined);
  }
});


test('Converse.js\'s user owns the room: /admin makes the bridge its admin, a WS moderator\'s topic shows in Converse\'s heading, and her /topic (and /topic alone, which clears it) reaches WS as a topic from her', { timeout: 90_000 }, async (t) => {
  const { server, origin } = await servePage();
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const prosody = await startProsody({ users: { alice: 'alice-pw' }, websocket: { origins: [origin] } });
  t.after(() => prosody.destroy());
  const browser: Browser = await launchChromium();
  t.after(() => browser.close());
  const { page, consoleLines } = await newPage(browser);
  const room = `lobby@${prosody.mucDomain}`;
  try {
    // Alice joins first: Converse creates the room (an instant room), and she is its owner.
    await startAlice(page, origin, prosody, room);
    const bridge = await startXmppBridge(prosody, { moderators: ['dave'] });
    t.after(() => bridge.stop());
    const dave: TestClient = await connectClient(bridge.wsUrl, bridge.tokens.dave);
    t.after(() => dave.close());
    await dave.request({ type: 'join', room: 'lobby' });
    const textarea = page.locator(`converse-muc[jid="${room}"] textarea.chat-textarea`);
    const affiliation = (nick: string): Promise<string> => probe<string>(page, 'affiliationOf', room, nick);
    assert.equal(await poll(() => affiliation('Switchboard'), (a) => a !== ''), 'none', 'the relay came in as nobody in particular');

    // She makes the bridge the room's admin (docs/xmpp.md: what the relay needs), with Converse's /admin.
    await textarea.fill('/admin Switchboard');
    await textarea.press('Enter');
    assert.equal(await poll(() => affiliation('Switchboard'), (a) => a === 'admin'), 'admin', 'Converse\'s /admin made the relay an admin');

    // WS -> Converse: dave's topic shows in Converse's heading.
    const set = await dave.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'Welcome to the lobby' } });
    assert.equal(set['type'], 'ack', JSON.stringify(set));
    assert.equal(await poll(() => probe<string>(page, 'subject', room), (s) => s !== ''), 'Welcome to the lobby');

    // Converse -> WS: an owner has /topic; dave gets her topic, from her.
    assert.ok((await probe<string[]>(page, 'allowedCommands', room)).includes('topic'), 'Converse offers /topic to the owner');
    await textarea.fill('/topic Lunch at one');
    await textarea.press('Enter');
    const fromAlice = await nextEvent(dave, (e) => e.kind === 'topic' && (e['sender'] as { network: string }).network === 'xmpp');
    assert.deepEqual([fromAlice['text'], fromAlice['sender']], ['Lunch at one', { network: 'xmpp', id: `alice@${prosody.domain}`, name: 'Alice' }]);
    assert.equal(await poll(() => probe<string>(page, 'subject', room), (s) => s === 'Lunch at one'), 'Lunch at one', 'her heading shows hers');
    // /topic alone clears it: an empty <subject/>, a topic ''.
    await textarea.fill('/topic');
    await textarea.press('Enter');
    const cleared = await nextEvent(dave, (e) => e.kind === 'topic' && (e['sender'] as { network: string }).network === 'xmpp' && e.id !== fromAlice.id);
    assert.equal(cleared['text'], '');
    assert.equal(await poll(() => probe<string>(page, 'subject', room), (s) => s === ''), '', 'the heading shows no topic');
    assert.deepEqual(await probe<string[]>(page, 'errors'), [], 'Converse shows no error');
  } finally {
    if (process.env['SWITCHBOARD_TEST_CONVERSE_LOG']) console.log(consoleLines.join('\n'));
    await page.close().catch(() => undefined);
  }
});
