import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy, isIpLiteral } from '../../src/media/address-policy.ts';

const strict = new AddressPolicy();

test('only public unicast passes by default; every special range is refused with its name', () => {
  const refused: [string, string][] = [
    ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'], ['::1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['169.254.1.1', 'linkLocal'], ['fe80::1', 'linkLocal'],
    ['169.254.169.254', 'metadata'], ['fd00:ec2::254', 'metadata'],
    ['fc00::1', 'uniqueLocal'], ['fd12:3456::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'], ['100.127.255.255', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['255.255.255.255', 'broadcast'],
    ['192.0.2.1', 'reserved'], ['240.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'rfc6052'], ['2002:7f00:1::', '6to4'],
  ];
  for (const [address, range] of refused) {
    const v = strict.check(address);
    assert.equal(v.allowed, false, address);
    assert.equal(v.range, range, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2001:4860:4860::8888', '2a00:1450::1']) {
    assert.equal(strict.check(address).allowed, true, address);
  }
});

test('IPv4-mapped IPv6 and decimal, octal and hex IPv4 are judged as the address they are', () => {
  for (const form of ['::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:127.0.0.1]', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '0x7f000001', '127.1', '017700000001']) {
    const v = strict.check(form);
    assert.equal(v.allowed, false, form);
    assert.equal(v.range, 'loopback', form);
    assert.equal(v.address, '127.0.0.1', form);
  }
  assert.equal(strict.check('::ffff:169.254.169.254').range, 'metadata');
  assert.equal(strict.check('::ffff:10.0.0.1').range, 'private');
  assert.equal(strict.check('3232235777').range, 'private', '192.168.1.1 as one decimal number');
  assert.equal(strict.check('::ffff:8.8.8.8').allowed, true);
  assert.equal(strict.check('fe80::1%eth0').range, 'linkLocal', 'zone ids are ignored, not a way around');
  assert.equal(strict.check('not an address').allowed, false);
  assert.equal(strict.check('').allowed, false);
});

test('the allow-list opens exactly its ranges; metadata only when named exactly', () => {
  const p = new AddressPolicy({ allow: ['127.0.0.1/32', '10.1.0.0/16', '::1', '169.254.0.0/16', '::ffff:192.168.7.0/120'] });
  assert.equal(p.allows('127.0.0.1'), true);
  assert.equal(p.allows('::ffff:127.0.0.1'), true, 'mapped form of an allowed IPv4');
  assert.equal(p.allows('2130706433'), true);
  assert.equal(p.allows('127.0.0.2'), false);
  assert.equal(p.allows('10.1.200.3'), true);
  assert.equal(p.allows('10.2.0.1'), false);
  assert.equal(p.allows('::1'), true);
  assert.equal(p.allows('169.254.1.1'), true);
  assert.equal(p.allows('169.254.169.254'), false, 'a link-local range does not open the metadata service');
  assert.equal(p.allows('192.168.7.9'), true);
  assert.equal(new AddressPolicy({ allow: ['169.254.169.254/32'] }).allows('169.254.169.254'), true);
  assert.throws(() => new AddressPolicy({ allow: ['10.0.0.0/33'] }), /allow-list/);
  assert.throws(() => new AddressPolicy({ allow: ['example.com'] }), /allow-list/);
});

test('isIpLiteral tells literals from names', () => {
  assert.equal(isIpLiteral('127.0.0.1'), true);
  assert.equal(isIpLiteral('[::1]'), true);
  assert.equal(isIpLiteral('example.com'), false);
});
