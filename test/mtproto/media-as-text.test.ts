import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { mediaAsText } from '../../src/connectors/mtproto/chat/media-as-text.ts';

test('a venue or contact field over its 256 units is cut before an emoji that would not fit, and the text is a valid message', () => {
  const long = `${'s'.repeat(255)}😀 more`;
  const venue = mediaAsText({ _: 'inputMediaVenue', geo_point: { _: 'inputGeoPoint', lat: 48.8584, long: 2.2945 }, title: long, address: long, provider: '', venue_id: '', venue_type: '' });
  assert.ok(typeof venue === 'object' && venue !== undefined);
  assert.equal(venue.text, `📍 ${'s'.repeat(255)}\n${'s'.repeat(255)}`);
  const event = { v: 1, id: newEventId(), ts: Date.now(), room: 'r', sender: { network: 'mtproto', id: '1' }, origin: { connector: 'mtproto', endpoint: '1' }, kind: 'message', ...venue };
  assert.ok(validateEvent(event).ok);
  const contact = mediaAsText({ _: 'inputMediaContact', phone_number: '+1 555', first_name: long, last_name: '', vcard: '' });
  assert.ok(typeof contact === 'object' && contact !== undefined);
  assert.equal(contact.text, `👤 ${'s'.repeat(255)}: +1 555`);
});
