import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contentDisposition, sanitizeFileName } from '../../src/media/file-name.ts';
import { mediaIdOf } from '../../src/media/media-id.ts';
import { mimeEssence, parseMimePattern } from '../../src/media/mime-type.ts';
import { parseRange } from '../../src/media/range.ts';
import { sniff } from '../../src/media/sniff.ts';
import { effectiveMime, TypePolicy } from '../../src/media/type-policy.ts';
import { UrlSigner } from '../../src/media/url-signer.ts';
import { sha256Hex } from './helpers.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

test('sniff: scriptable content is recognised however it is dressed', () => {
  const cases: [string, string][] = [
    ['<!DOCTYPE html><p>x', 'text/html'],
    ['  \r\n\t<html>', 'text/html'],
    ['\xef\xbb\xbf<script>alert(1)</script>', 'text/html'],
    ['<ScRiPt>alert(1)</script>', 'text/html'],
    ['<iframe src=x>', 'text/html'],
    ['<a href=x>', 'text/html'],
    ['<!-- c --><svg onload=alert(1)>', 'image/svg+xml'],
    ['<!-- c --><p>', 'text/html'],
    ['<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml'],
    ['<?xml version="1.0"?><rss/>', 'text/xml'],
    ['<svg/onload=alert(1)>', 'image/svg+xml'],
    ['<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN">', 'image/svg+xml'],
    ['%PDF-1.7\n', 'application/pdf'],
  ];
  for (const [text, mime] of cases) {
    const s = sniff(b(text));
    assert.equal(s.kind, 'scriptable', text);
    assert.equal(s.mime, mime, text);
  }
  assert.equal(sniff(b('<abbr>not a listed tag')).kind, 'text', 'WHATWG patterns need a listed tag and a terminator');
  assert.equal(sniff(b('<bx')).kind, 'text');
});

test('sniff: media and archive signatures, text and binary', () => {
  const cases: [Buffer, string, string][] = [
    [Buffer.concat([b('\x89PNG\r\n\x1a\n'), Buffer.alloc(8)]), 'media', 'image/png'],
    [b('\xff\xd8\xff\xe0'), 'media', 'image/jpeg'],
    [b('GIF87a'), 'media', 'image/gif'],
    [b('RIFF\0\0\0\0WEBPVP8 '), 'media', 'image/webp'],
    [b('RIFF\0\0\0\0WAVEfmt '), 'media', 'audio/wav'],
    [b('ID3\x03'), 'media', 'audio/mpeg'],
    [b('\0\0\0\x18ftypisom\0\0\0\0'), 'media', 'video/mp4'],
    [b('\0\0\0\x1cftypavif\0\0\0\0'), 'media', 'image/avif'],
    [b('\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webm'), 'media', 'video/webm'],
    [b('OggS\0\x02'), 'binary-known', 'application/ogg'],
    [b('PK\x03\x04\x14\0'), 'binary-known', 'application/zip'],
    [b('\x1f\x8b\x08\0'), 'binary-known', 'application/x-gzip'],
    [b('plain words\n'), 'text', 'text/plain'],
    [b(''), 'text', 'text/plain'],
    [b('\0\x01\x02'), 'binary', 'application/octet-stream'],
  ];
  for (const [head, kind, mime] of cases) assert.deepEqual(sniff(head), { kind, mime }, head.toString('latin1'));
});

test('effective type: the bytes win when scriptable or media, the declaration fills in the rest', () => {
  const html = sniff(b('<html>'));
  const png = sniff(Buffer.concat([b('\x89PNG\r\n\x1a\n')]));
  const text = sniff(b('words'));
  const zip = sniff(b('PK\x03\x04'));
  assert.equal(effectiveMime('image/png', html), 'text/html');
  assert.equal(effectiveMime('text/html', png), 'image/png');
  assert.equal(effectiveMime('application/json; charset=utf-8', text), 'application/json');
  assert.equal(effectiveMime('application/vnd.openxmlformats-officedocument.wordprocessingml.document', zip), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'a docx is a zip: the declaration is more precise');
  assert.equal(effectiveMime('application/javascript', text), 'application/javascript', 'kept honestly, served as attachment');
  assert.equal(effectiveMime(undefined, zip), 'application/zip');
  assert.equal(effectiveMime('garbage', text), 'text/plain');
  assert.equal(effectiveMime('application/octet-stream', text), 'text/plain');
  const policy = new TypePolicy({ allow: ['image/*', 'text/plain'], deny: ['image/gif'] });
  assert.equal(policy.isAllowed('image/png'), true);
  assert.equal(policy.isAllowed('image/gif'), false);
  assert.equal(policy.isAllowed('text/html'), false);
  assert.throws(() => policy.decide('image/png', html), /text\/html is not accepted \(declared image\/png, content is text\/html\)/);
  assert.throws(() => new TypePolicy({ allow: ['image'] }), /not a MIME type pattern/);
  assert.equal(parseMimePattern('*/*'), '*/*');
  assert.equal(mimeEssence(' Text/Plain ; charset=UTF-8'), 'text/plain');
  assert.equal(mimeEssence('text/'), undefined);
});

test('URL signatures bind id, name and expiry; constant-format checks; expiry only after a valid MAC', () => {
  let now = 1_700_000_000_000;
  const signer = new UrlSigner('k'.repeat(32), () => now);
  const id = mediaIdOf(sha256Hex('x'));
  const { path, expiresAt } = signer.signedPath('/media', id, 'a b/ü.txt', 60);
  assert.equal(expiresAt, 1_700_000_060);
  const u = new URL(path, 'http://h');
  assert.equal(u.pathname, `/media/${id}/a%20b%2F%C3%BC.txt`);
  const exp = u.searchParams.get('exp');
  const sig = u.searchParams.get('sig');
  assert.deepEqual(signer.verify(id, 'a b/ü.txt', exp, sig), { ok: true });
  assert.deepEqual(signer.verify(id, 'a b/u.txt', exp, sig), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(signer.verify(mediaIdOf(sha256Hex('y')), 'a b/ü.txt', exp, sig), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(signer.verify(id, 'a b/ü.txt', String(Number(exp) + 1), sig), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(signer.verify(id, 'a b/ü.txt', exp, null), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(signer.verify(id, 'a b/ü.txt', '-1', sig), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(signer.verify(id, 'a b/ü.txt', exp, `${sig}=`), { ok: false, reason: 'bad_signature' });
  assert.deepEqual(new UrlSigner('j'.repeat(32), () => now).verify(id, 'a b/ü.txt', exp, sig), { ok: false, reason: 'bad_signature' }, 'another secret');
  now += 60_000;
  assert.deepEqual(signer.verify(id, 'a b/ü.txt', exp, sig), { ok: false, reason: 'expired' });
  assert.throws(() => new UrlSigner('short'), /at least 32 bytes/);
  // A name with separators cannot shift bytes between the signed fields.
  fc.assert(fc.property(fc.string(), fc.string(), (n1, n2) => {
    fc.pre(n1 !== n2);
    return signer.sign(id, n1, 5) !== signer.sign(id, n2, 5);
  }), { numRuns: 200 });
});

test('Range: single ranges, suffixes, open ends; malformed ignored; past the end unsatisfiable', () => {
  assert.deepEqual(parseRange(undefined, 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', range: { start: 0, end: 9 } });
  assert.deepEqual(parseRange('bytes=90-200', 100), { kind: 'partial', range: { start: 90, end: 99 } });
  assert.deepEqual(parseRange('bytes=50-', 100), { kind: 'partial', range: { start: 50, end: 99 } });
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', range: { start: 90, end: 99 } });
  assert.deepEqual(parseRange('bytes=-500', 100), { kind: 'partial', range: { start: 0, end: 99 } });
  assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=9-1', 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=0-1,5-6', 100), { kind: 'full' });
  assert.deepEqual(parseRange('items=0-1', 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=-', 100), { kind: 'full' });
  assert.deepEqual(parseRange('bytes=99999999999999999999-', 100), { kind: 'unsatisfiable' });
});

test('file names: control, bidi and separators removed, length capped with the extension kept; Content-Disposition per RFC 6266', () => {
  assert.equal(sanitizeFileName(undefined), 'file');
  assert.equal(sanitizeFileName('  ..  '), 'file');
  assert.equal(sanitizeFileName('../../etc/passwd'), '_.._etc_passwd');
  assert.equal(sanitizeFileName('evil\u202Egpj.exe'), 'evilgpj.exe');
  assert.equal(sanitizeFileName('a\r\nb\u0000.txt'), 'ab.txt');
  const long = sanitizeFileName(`${'x'.repeat(500)}.jpeg`);
  assert.equal(long.length, 200);
  assert.ok(long.endsWith('.jpeg'));
  assert.equal(contentDisposition('attachment', 'résumé "final".pdf'), `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`);
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (raw) => {
    const header = contentDisposition('inline', raw);
    return !/[\r\n\0]/.test(header) && /^inline; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!$&+^`|#-]*$/.test(header);
  }), { numRuns: 500 });
});

