import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { collectGarbage, MediaGarbageCollector } from '../../src/media/gc.ts';
import { mediaIdsOfEvent, mediaReferencesInStreams } from '../../src/media/live-references.ts';
import { LocalMediaStore } from '../../src/media/local-store.ts';
import type { MediaRef } from '../../src/media/store.ts';
import { busOptions } from '../bus/harness.ts';
import { tempDir } from './helpers.ts';

const HOUR = 3_600_000;
const ROOM = 'lobby';

function message(text: string, refs: readonly MediaRef[] = []): CanonicalEvent {
  return {
    v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: ROOM,
    sender: { network: 'websocket', id: 'alice' }, origin: { connector: 'websocket', endpoint: ROOM },
    text,
    ...(refs.length > 0 ? { attachments: refs.map((r) => ({ id: r.id, name: 'f.bin', mime: r.mime, size: r.size, sha256: r.sha256, url: `http://127.0.0.1/media/${r.id}/f.bin?exp=1&sig=x` })) } : {}),
  } as CanonicalEvent;
}

/** A presence of someone whose avatar is `avatar` (an XMPP occupant's vCard photo the bridge stored). */
function presence(avatar: string): CanonicalEvent {
  return {
    v: 1, id: newEventId(), ts: Date.now(), kind: 'presence', room: ROOM, state: 'available',
    sender: { network: 'xmpp', id: 'romeo@example.org', avatar }, origin: { connector: 'xmpp', endpoint: ROOM },
  };
}

/** A link to a stored avatar as the media service gives it (signature irrelevant to the GC). */
function avatarUrl(id: string, base = 'http://127.0.0.1/media'): string {
  return `${base}/${id}/avatar?exp=1&sig=x`;
}

async function setUp() {
  const dir = await tempDir();
  let clock = Date.now();
  const store = await LocalMediaStore.open({ dir: dir.path, maxBytes: 1 << 20, now: () => clock });
  const bus = new MemoryBus(busOptions({ retention: { maxEventsPerRoom: 100 } }));
  const routing = bus.startRouting(() => []);
  const put = (text: string) => store.put(Readable.from([Buffer.from(text)]));
  const publish = async (events: CanonicalEvent[]) => {
    await bus.publish(events);
    for (let i = 0; i < 100; i++) {
      const read = await bus.readStream(ROOM, undefined, 1_000);
      if (read.entries.some((e) => e.event.id === events[events.length - 1]?.id)) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('events were not routed');
  };
  const gcOptions = { store, liveReferences: () => mediaReferencesInStreams(bus, [ROOM], 30), graceMs: 24 * HOUR, now: () => clock };
  return {
    store, bus, put, publish, gcOptions, dir: dir.path,
    advance: (ms: number) => { clock += ms; },
    close: async () => { await routing.close(); await bus.close(); await dir.remove(); },
  };
}

test('an unreferenced file is swept after the grace period; referenced and young files stay', async () => {
  const t = await setUp();
  try {
    const referenced = await t.put('in a message');
    const orphan = await t.put('uploaded, never sent');
    await t.publish([message('see attached', [referenced]), ...Array.from({ length: 40 }, (_, i) => message(`chatter ${i}`))]);

    let report = await collectGarbage(t.gcOptions);
    assert.equal(report.removed, 0, 'within the grace period nothing goes');
    assert.deepEqual(report.kept, { referenced: 1, young: 1 });

    t.advance(25 * HOUR);
    const fresh = await t.put('uploaded just now');
    report = await collectGarbage(t.gcOptions);
    assert.equal(report.removed, 1);
    assert.equal(report.live, 1);
    assert.deepEqual(report.kept, { referenced: 1, young: 1 });
    assert.equal(await t.store.stat(orphan.id), undefined);
    assert.ok(await t.store.stat(referenced.id));
    assert.ok(await t.store.stat(fresh.id));
  } finally {
    await t.close();
  }
});

test('when the event that referenced a file falls out of retention, the file is collected', async () => {
  const t = await setUp();
  try {
    const file = await t.put('old attachment');
    await t.publish([message('here', [file])]);
    t.advance(48 * HOUR);
    assert.equal((await collectGarbage(t.gcOptions)).removed, 0, 'still referenced');
    await t.publish(Array.from({ length: 120 }, (_, i) => message(`newer ${i}`)));
    const read = await t.bus.readStream(ROOM, undefined, 1_000);
    assert.ok(read.entries.every((e) => mediaIdsOfEvent(e.event).length === 0), 'retention trimmed the message away');
    assert.equal((await collectGarbage(t.gcOptions)).removed, 1);
    assert.equal(await t.store.stat(file.id), undefined);
  } finally {
    await t.close();
  }
});

test('a sender\'s stored avatar is a reference: in a message, in a presence, under any base path, whatever the signature', () => {
  const a = 'a'.repeat(64);
  const b = 'b'.repeat(64);
  const c = 'c'.repeat(64);
  const withAvatar = (event: CanonicalEvent, avatar: string): CanonicalEvent => ({ ...event, sender: { ...event.sender, avatar } });
  assert.deepEqual(mediaIdsOfEvent(withAvatar(message('hi'), avatarUrl(a))), [a]);
  assert.deepEqual(mediaIdsOfEvent(presence(avatarUrl(b))), [b]);
  assert.deepEqual(mediaIdsOfEvent(presence(avatarUrl(b, 'https://chat.example.org/bridge/files'))), [b], 'a proxy prefix or another basePath');
  const both = withAvatar(message('file', [{ id: c as MediaRef['id'], sha256: c, size: 1, mime: 'text/plain' }]), avatarUrl(a));
  assert.deepEqual(mediaIdsOfEvent(both).sort(), [a, c]);
  for (const notOurs of ['https://avatars.example.net/romeo.png', `https://x.example/media/${a}`, `https://x.example/media/${a}/`, `https://x.example/media/${a.toUpperCase()}/avatar`, `https://x.example/media/${a}x/avatar`]) {
    assert.deepEqual(mediaIdsOfEvent(presence(notOurs)), [], notOurs);
  }
});

test('the GC keeps a stored avatar while a retained event names it, and collects it once retention drops that event', async () => {
  const t = await setUp();
  try {
    const avatar = await t.put('an avatar');
    const orphan = await t.put('nobody\'s');
    await t.publish([presence(avatarUrl(avatar.id)), message('chatter')]);
    t.advance(25 * HOUR);
    const report = await collectGarbage(t.gcOptions);
    assert.equal(report.removed, 1);
    assert.deepEqual(report.kept, { referenced: 1, young: 0 });
    assert.ok(await t.store.stat(avatar.id), 'kept: a retained presence shows it');
    assert.equal(await t.store.stat(orphan.id), undefined);

    await t.publish(Array.from({ length: 120 }, (_, i) => message(`newer ${i}`)));
    assert.equal((await collectGarbage(t.gcOptions)).removed, 1);
    assert.equal(await t.store.stat(avatar.id), undefined);
  } finally {
    await t.close();
  }
});

test('putting the same content again restarts its grace period, even during a collection', async () => {
  const t = await setUp();
  try {
    const file = await t.put('sent again later');
    t.advance(48 * HOUR);
    const report = await collectGarbage({
      ...t.gcOptions,
      // The file is uploaded again while the collector reads the live references.
      liveReferences: async function* () { await t.put('sent again later'); },
    });
    assert.equal(report.removed, 0);
    assert.ok(await t.store.stat(file.id));
  } finally {
    await t.close();
  }
});

test('a failure while reading live references deletes nothing', async () => {
  const t = await setUp();
  try {
    const file = await t.put('must survive');
    t.advance(48 * HOUR);
    await assert.rejects(collectGarbage({
      ...t.gcOptions,
      liveReferences: async function* () { yield 'a'.repeat(64); throw new Error('redis went away'); },
    }), /redis went away/);
    assert.ok(await t.store.stat(file.id));
    const gc = new MediaGarbageCollector({ ...t.gcOptions, intervalMs: 60_000, liveReferences: () => { throw new Error('no bus'); } });
    assert.equal(await gc.runNow(), undefined, 'a failed scheduled run reports nothing and throws nothing');
    assert.ok(await t.store.stat(file.id));
    await gc.close();
  } finally {
    await t.close();
  }
});

test('the scheduled collector runs on its interval, never twice at once, and closes idempotently', async () => {
  const t = await setUp();
  try {
    await t.put('orphan');
    t.advance(48 * HOUR);
    let runs = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const gc = new MediaGarbageCollector({
      ...t.gcOptions,
      intervalMs: 20,
      liveReferences: async function* () {
        runs++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 30));
        inFlight--;
      },
    }).start();
    const [a, b] = await Promise.all([gc.runNow(), gc.runNow()]);
    assert.equal(a, b, 'a second runNow joins the run in progress');
    for (let i = 0; i < 100 && runs < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(runs >= 3, `ran ${runs} times`);
    assert.equal(maxInFlight, 1);
    await gc.close();
    await gc.close();
    const after = runs;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(runs, after, 'no run after close');
    assert.equal(await gc.runNow(), undefined);
  } finally {
    await t.close();
  }
});

test('debris of interrupted puts is removed by the collection', async () => {
  const t = await setUp();
  const dir = join(t.dir, 'tmp');
  try {
    const stray = join(dir, 'crashed.part');
    await writeFile(stray, 'half a file');
    const old = new Date(Date.now() - 2 * HOUR);
    await utimes(stray, old, old);
    const report = await collectGarbage({ ...t.gcOptions, debrisAgeMs: HOUR });
    assert.equal(report.debris, 1);
  } finally {
    await t.close();
  }
});
