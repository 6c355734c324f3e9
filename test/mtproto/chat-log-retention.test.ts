// The chat log's retention (mtproto.historyPerChat): old blocks and their messages go, what is
// kept reads back the same after a restart, and nothing a reader can reach points at a deleted
// message. The state is the memory driver's journal, as on the embedded defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { MessageBox } from '../../src/connectors/mtproto/chat/message-box.ts';

const CHAT = '1001';
const RETAIN = 100;

async function appendMessages(box: MessageBox, from: number, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = from; i < from + count; i++) {
    const result = await box.append(CHAT, { kind: 'new', eventKey: `ev${i}`, time: 1_700_000_000 + i, from: '42' }, (g) => ({ id: g, chat: CHAT, ev: `ev${i}`, from: '42', date: 1_700_000_000 + i, text: `message ${i}` }));
    ids.push(result.entry.m);
    if (i % 3 === 2) await box.flush(); // batches of three, like the bus hands them over
  }
  await box.flush();
  return ids;
}

test('chat log retention: past historyPerChat whole blocks go with their messages; the rest reads back the same after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-chatlog-'));
  try {
    const file = join(dir, 'state.jsonl');
    const state = new LocalState(file);
    const box = new MessageBox(state.store('mtproto'), RETAIN, silentLogger);
    await box.start();
    const ids = await appendMessages(box, 0, 300);
    const log = await box.chat(CHAT);
    assert.equal(log.count, 300, 'the absolute count goes on');
    assert.ok(log.entries.length >= RETAIN && log.entries.length < RETAIN + 32, `kept ${log.entries.length}: at least historyPerChat, less than one block more`);
    const kept = log.entries.map((e) => e.e);
    assert.deepEqual(kept, Array.from({ length: log.entries.length }, (_, i) => `ev${300 - log.entries.length + i}`), 'the newest, in order');
    const firstKept = 300 - log.entries.length;
    for (const [i, id] of ids.entries()) {
      const record = await box.record(id);
      if (i < firstKept) assert.equal(record, undefined, `message ${i} (dropped) is deleted`);
      else assert.equal(record?.text, `message ${i}`);
    }
    assert.equal(await box.find(CHAT, 'ev0'), undefined);
    assert.equal((await box.find(CHAT, 'ev299'))?.entry.m, ids[299]);
    state.close();

    // A restart on the same file: the same entries and messages, and appending goes on after them.
    const again = new LocalState(file);
    const box2 = new MessageBox(again.store('mtproto'), RETAIN, silentLogger);
    await box2.start();
    const log2 = await box2.chat(CHAT);
    assert.deepEqual(log2.entries.map((e) => e.e), kept);
    assert.equal((await box2.record(ids[299]!))?.text, 'message 299');
    assert.equal(await box2.record(ids[0]!), undefined);
    const more = await appendMessages(box2, 300, 40);
    assert.ok(more.every((id) => id > ids[299]!), 'ids go on growing');
    assert.equal((await box2.chat(CHAT)).count, 340);
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
