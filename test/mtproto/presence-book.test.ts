// What clients see as a user's status (chat/presence.ts): the newest report wins, whatever order
// the reports arrive in; "online" lasts five minutes; nobody reported is "recently".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PresenceBook } from '../../src/connectors/mtproto/chat/presence.ts';

test('a report older than the one held changes nothing (an account\'s own "online" is not undone by its earlier "offline" delivered late); online lasts five minutes', () => {
  const book = new PresenceBook();
  assert.deepEqual(book.statusOf(1n, 1_000), { _: 'userStatusRecently' });
  // The account hid its status at 1,000 s (an "offline" for the other networks, reported at 1,000,000 ms),
  // then said it is online at 1,000.4 s; the bus delivers the "offline" after that.
  book.set(1n, 'available', 1_000, 1_000_400);
  book.set(1n, 'offline', 1_000, 1_000_000);
  assert.deepEqual(book.statusOf(1n, 1_001), { _: 'userStatusOnline', expires: 1_300 });
  // A newer report does change it, and one of the same moment too.
  book.set(1n, 'offline', 1_010, 1_010_000);
  assert.deepEqual(book.statusOf(1n, 1_011), { _: 'userStatusOffline', was_online: 1_010 });
  book.set(1n, 'available', 1_010, 1_010_000);
  assert.deepEqual(book.statusOf(1n, 1_011), { _: 'userStatusOnline', expires: 1_310 });
  assert.deepEqual(book.statusOf(1n, 1_400), { _: 'userStatusOffline', was_online: 1_310 }, 'online lasts five minutes');
  // Without a report time, the report's own second is its order.
  book.set(2n, 'available', 2_000);
  book.set(2n, 'offline', 1_999);
  assert.equal(book.statusOf(2n, 2_001)._, 'userStatusOnline');
});
