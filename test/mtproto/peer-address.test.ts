// Whose handshake budget an address spends: IPv4 itself (also IPv4-mapped), IPv6 its /64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressBudgetKey } from '../../src/connectors/mtproto/peer-address.ts';

test('IPv4 is itself, also IPv4-mapped; IPv6 is its /64 however written; anything else as given', () => {
  assert.equal(addressBudgetKey('192.0.2.7'), '192.0.2.7');
  assert.equal(addressBudgetKey('::ffff:192.0.2.7'), '192.0.2.7', 'a dual-stack listener reports IPv4 peers mapped');
  assert.equal(addressBudgetKey('::FFFF:192.0.2.7'), '192.0.2.7');
  assert.notEqual(addressBudgetKey('192.0.2.7'), addressBudgetKey('192.0.2.8'));
  // One /64, many addresses: one budget.
  const a = addressBudgetKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
  assert.equal(a, '2001:db8:1:2::/64');
  assert.equal(addressBudgetKey('2001:db8:1:2::1'), a);
  assert.equal(addressBudgetKey('2001:0DB8:0001:0002:0:0:0:ffff'), a, 'leading zeros and case do not matter');
  assert.equal(addressBudgetKey('2001:db8:1:2::1%eth0'), a, 'a zone id names no other host');
  assert.notEqual(addressBudgetKey('2001:db8:1:3::1'), a, 'the next /64 is another budget');
  assert.equal(addressBudgetKey('::1'), '0:0:0:0::/64');
  assert.equal(addressBudgetKey('2001:db8::'), '2001:db8:0:0::/64');
  assert.equal(addressBudgetKey('64:ff9b::192.0.2.7'), '64:ff9b:0:0::/64', 'an IPv4 tail is two groups');
  assert.equal(addressBudgetKey('?'), '?');
  assert.equal(addressBudgetKey('not an address'), 'not an address');
});
