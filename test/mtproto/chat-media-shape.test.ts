// Videos and audio play inline in stock clients, with their length and picture size: read from
// the file (FFmpeg-made fixtures, test/fixtures/media), whether it came from another network
// through the media store or from a stock client that declared a placeholder; what the file does
// not say comes from the sender's declaration; a voice message is what its sender declared, and so
// are a round video message, a song's title and performer and a voice message's waveform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Api, CHAT_ID, CustomFile, until, updateRecorder, uploadToMedia, withPersonAndBot, wsEvent, type GramMessage, type GramUpdate } from './chat-harness.ts';

const PEER = -CHAT_ID;
const fixture = (name: string) => readFileSync(new URL(`../fixtures/media/${name}`, import.meta.url));
const GramApi = Api as unknown as Record<string, new (a: object) => object>;

interface Attribute { className: string; w?: number; h?: number; duration?: number; supportsStreaming?: boolean; voice?: boolean; roundMessage?: boolean; title?: string; performer?: string; waveform?: Buffer }
type Media = GramMessage & { media: { document: { mimeType: string; attributes: Attribute[] } }; video?: unknown; voice?: unknown; audio?: unknown };

/** What a client shows of a document: video WxH Ns (streaming), audio Ns (voice), or file. */
function shown(m: Media): string {
  const video = m.media.document.attributes.find((a) => a.className === 'DocumentAttributeVideo');
  const audio = m.media.document.attributes.find((a) => a.className === 'DocumentAttributeAudio');
  if (video !== undefined) return `${video.roundMessage === true ? 'round ' : ''}video ${video.w}x${video.h} ${video.duration}s${video.supportsStreaming === true ? ' streaming' : ''}`;
  if (audio !== undefined) {
    const said = [audio.title, audio.performer, audio.waveform === undefined || audio.waveform === null ? undefined : `waveform ${audio.waveform.toString('hex')}`].filter((x) => x !== undefined && x !== null);
    return `audio ${audio.duration}s${audio.voice === true ? ' voice' : ''}${said.length > 0 ? ` (${said.join(', ')})` : ''}`;
  }
  return 'file';
}
const newMessage = (text: string) => (u: GramUpdate) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === text;

test('files from other networks: a video with its picture (rotation applied) and length, audio with its length; the same from history', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, _bot, ws) => {
    const rec = updateRecorder(person);
    const files: Array<[string, string, string]> = [
      ['clip-rotated.mp4', 'video/mp4', 'video 48x64 2s'],
      ['clip-faststart.mp4', 'video/mp4', 'video 64x48 3s streaming'],
      ['voice.ogg', 'audio/ogg', 'audio 4s voice'],
      ['song.m4a', 'audio/mp4', 'audio 5s'],
    ];
    for (const [name, mime] of files) {
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: name, attachments: [await uploadToMedia(bridge, name, mime, fixture(name))] } });
    }
    for (const [name] of files) await until(name, () => rec.all.some(newMessage(name)));
    const live = files.map(([name]) => rec.all.find(newMessage(name))!['message'] as Media);
    assert.deepEqual(live.map(shown), files.map(([, , want]) => want));
    // gramjs classifies them as clients do.
    assert.deepEqual(live.map((m) => [m.video !== undefined, m.voice !== undefined, m.audio !== undefined]), [[true, false, false], [true, false, false], [false, true, false], [false, false, true]]);
    const history = [...await person.getMessages(PEER, { ids: live.map((m) => m.id) } as never)] as Media[];
    assert.deepEqual(history.map(shown), files.map(([, , want]) => want), 'history shows the same');
    assert.deepEqual(Buffer.from(await person.downloadMedia(history[0]!)), fixture('clip-rotated.mp4'), 'the same bytes');
  });
});

test('a GIF is an animation, from another network or sent as a photo: a document of its size that clients play, found with the GIF filter, not among photos', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const rec = updateRecorder(person);
    const botRec = updateRecorder(bot);
    type Gif = GramMessage & { media: { className: string; document?: { mimeType: string; attributes: Attribute[] } }; gif?: unknown; photo?: unknown };
    const attrs = (m: Gif) => m.media.document?.attributes.map((a) => (a.className === 'DocumentAttributeImageSize' ? `size ${a.w}x${a.h}` : a.className));
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from ws', attachments: [await uploadToMedia(bridge, 'anim.gif', 'image/gif', fixture('anim.gif'))] } });
    await until('the GIF', () => rec.all.some(newMessage('from ws')));
    const fromWs = rec.all.find(newMessage('from ws'))!['message'] as Gif;
    assert.deepEqual([fromWs.media.className, fromWs.media.document?.mimeType, attrs(fromWs)], ['MessageMediaDocument', 'image/gif', ['DocumentAttributeFilename', 'size 32x24', 'DocumentAttributeAnimated']]);
    assert.ok(fromWs.gif !== undefined && fromWs.gif !== null, 'gramjs sees a GIF');
    // Sent by a stock client the way it sends pictures (an uploaded photo): an animation too.
    await person.sendFile(PEER, { file: new CustomFile('anim.gif', fixture('anim.gif').length, '', fixture('anim.gif')), caption: 'from gramjs', workers: 1 } as never);
    await until('the GIF at the bot', () => botRec.all.some(newMessage('from gramjs')));
    const fromGram = botRec.all.find(newMessage('from gramjs'))!['message'] as Gif;
    assert.deepEqual([fromGram.media.className, attrs(fromGram)?.slice(1)], ['MessageMediaDocument', ['size 32x24', 'DocumentAttributeAnimated']]);
    const filtered = async (name: string) => [...await bot.getMessages(PEER, { filter: new GramApi[name]!({}) } as never)].map((m) => m.message).sort();
    assert.deepEqual(await filtered('InputMessagesFilterGif'), ['from gramjs', 'from ws']);
    assert.deepEqual(await filtered('InputMessagesFilterPhotos'), []);
    assert.deepEqual(Buffer.from(await bot.downloadMedia(fromGram as never)), fixture('anim.gif'), 'the same bytes');
  });
});

test("a stock client's uploads: the file wins over gramjs' placeholder, a declaration fills what the file does not say, the voice flag is the sender's", { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const botRec = updateRecorder(bot);
    const file = (name: string, bytes: Buffer) => new CustomFile(name, bytes.length, '', bytes);
    // gramjs declares an .mp4 it cannot read as 1x1, 0 s.
    await person.sendFile(PEER, { file: file('clip.mp4', fixture('clip-faststart.mp4')), caption: 'clip', workers: 1 } as never);
    // WebM is not read: the declaration is what there is.
    await person.sendFile(PEER, { file: file('talk.webm', Buffer.from('webm '.repeat(50))), caption: 'webm', workers: 1, attributes: [new GramApi['DocumentAttributeVideo']!({ duration: 9, w: 640, h: 360 })] } as never);
    // Music in Ogg, declared so (with a wrong length: the file's is 3 s); and the same format as a voice note.
    await person.sendFile(PEER, { file: file('tune.ogg', fixture('music.ogg')), caption: 'tune', workers: 1, attributes: [new GramApi['DocumentAttributeAudio']!({ duration: 30, voice: false, title: 'Tune', performer: 'Band' })] } as never);
    await person.sendFile(PEER, { file: file('note.ogg', fixture('voice.ogg')), caption: 'note', workers: 1, voiceNote: true, attributes: [new GramApi['DocumentAttributeAudio']!({ duration: 4, voice: true, waveform: Buffer.from([0x1f, 0x00, 0xa5]) })] } as never);
    // A round video message (gramjs' videoNote): round for the other MTProto clients.
    await person.sendFile(PEER, { file: file('round.mp4', fixture('clip-faststart.mp4')), caption: 'round', workers: 1, videoNote: true } as never);
    // A declaration out of range is not taken.
    await person.sendFile(PEER, { file: file('odd.webm', Buffer.from('odd '.repeat(50))), caption: 'odd', workers: 1, attributes: [new GramApi['DocumentAttributeVideo']!({ duration: -4, w: 1, h: 1 })] } as never);
    const captions = ['clip', 'webm', 'tune', 'note', 'odd', 'round'];
    for (const c of captions) await until(c, () => botRec.all.some(newMessage(c)));
    const atBot = captions.map((c) => botRec.all.find(newMessage(c))!['message'] as Media);
    assert.deepEqual(atBot.map(shown), ['video 64x48 3s streaming', 'video 640x360 9s', 'audio 3s (Tune, Band)', 'audio 4s voice (waveform 1f00a5)', 'video 0x0 0s', 'round video 64x48 3s streaming']);
    // Found as clients look for them: music is the declared music, voice the voice note.
    const filtered = async (name: string) => [...await bot.getMessages(PEER, { filter: new GramApi[name]!({}) } as never)].map((m) => m.message);
    assert.deepEqual(await filtered('InputMessagesFilterMusic'), ['tune']);
    assert.deepEqual(await filtered('InputMessagesFilterVoice'), ['note']);
    assert.deepEqual((await filtered('InputMessagesFilterVideo')).sort(), ['clip', 'odd', 'webm'], 'round videos apart, as on Telegram');
    assert.deepEqual(await filtered('InputMessagesFilterRoundVideo'), ['round']);
    assert.deepEqual(await filtered('InputMessagesFilterRoundVoice'), ['round', 'note']);
    // The other network gets the file as sent.
    const got = (await wsEvent(ws, 'message', (e) => e['text'] === 'clip'))['attachments'] as Array<{ url: string; mime: string }>;
    assert.equal(got[0]!.mime, 'video/mp4');
    assert.deepEqual(Buffer.from(await (await fetch(got[0]!.url)).arrayBuffer()), fixture('clip-faststart.mp4'));
  });
});
