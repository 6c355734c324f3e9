# A bot written the way an outside author would write one, from docs/websocket-protocol.md alone,
# with Debian's python3-websockets (10.4, RFC 6455-strict, permessage-deflate offered by default).
# Driven by test/websocket/python-client.test.ts: each step prints one JSON line with what the bot
# saw (the test asserts on it); where the node client on the other side has to act first, the bot
# waits for a line on stdin.
#
# usage: python-client.py <ws url> <token>
import asyncio
import http.client
import json
import os
import sys
import urllib.parse

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode
from websockets.frames import OP_BINARY, OP_PING, OP_TEXT
from websockets.legacy.client import WebSocketClientProtocol

URL, TOKEN = sys.argv[1], sys.argv[2]
AUTH = {'Authorization': f'Bearer {TOKEN}'}
WAIT = 10  # seconds for any one answer: the test's own deadline is the real bound


def say(step, **fields):
    print(json.dumps({'step': step, **fields}), flush=True)


async def line():
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


class Counting(WebSocketClientProtocol):
    """The stock protocol, counting the server's WebSocket pings (answered by the library itself)."""
    server_pings = 0

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        if frame.opcode == OP_PING:
            self.server_pings += 1
        return frame


async def connect(url=URL, headers=AUTH, **kw):
    # close_timeout: how long the library waits for the other side's close; its 10 s default
    # (twice over when it stopped reading on a message too big) would only slow the test down.
    ws = await websockets.connect(url, extra_headers=headers, create_protocol=Counting, close_timeout=2, **kw)
    hello = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    return ws, hello


async def frame_until(ws, match):
    """The next frame for which match(frame) holds; events before it are kept in ws.seen."""
    while True:
        f = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if match(f):
            return f
        ws.seen.append(f)


async def request(ws, frame):
    # json.dumps as it comes: non-ASCII as \uXXXX escapes, an emoji as its surrogate pair.
    await ws.send(json.dumps(frame))
    return await frame_until(ws, lambda f: f.get('ref') == frame['ref'])


async def event(ws, kind):
    """The next pushed event of this kind (from ws.seen first)."""
    for f in ws.seen:
        if f['type'] == 'event' and f['event']['kind'] == kind:
            ws.seen.remove(f)
            return f
    return await frame_until(ws, lambda f: f['type'] == 'event' and f['event']['kind'] == kind)


async def quiet(ws, seconds=1.0):
    """Every frame until none came for `seconds`."""
    got = list(ws.seen)
    ws.seen.clear()
    while True:
        try:
            got.append(json.loads(await asyncio.wait_for(ws.recv(), seconds)))
        except asyncio.TimeoutError:
            return got


async def closed(ws, wait=WAIT):
    """How the connection closed: the server's close code and reason, and ours, as the library reports them."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), wait)
    except ConnectionClosed as e:
        return {'code': e.rcvd.code if e.rcvd else None, 'reason': e.rcvd.reason if e.rcvd else None, 'sent': e.sent.code if e.sent else None}


def raw_upgrade(headers):
    """The upgrade request by hand, for what the library does not show of a refusal: the body."""
    u = urllib.parse.urlsplit(URL)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=WAIT)
    c.request('GET', u.path + (f'?{u.query}' if u.query else ''), headers={
        'Upgrade': 'websocket', 'Connection': 'Upgrade', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', **headers})
    r = c.getresponse()
    out = {'status': r.status, 'type': r.getheader('Content-Type'), 'www': r.getheader('WWW-Authenticate'), 'body': json.loads(r.read() or b'null')}
    c.close()
    return out


async def refused(headers, **kw):
    try:
        ws = await websockets.connect(URL, extra_headers=headers, open_timeout=WAIT, **kw)
    except InvalidStatusCode as e:
        return e.status_code
    await ws.close()
    return 'accepted'


async def main():
    # Refusals before any frame: the library sees the status, the raw request the JSON body.
    say('refusals',
        none=await refused({}), wrong=await refused({'Authorization': 'Bearer sb_not_a_token'}),
        origin=await refused(AUTH, origin='https://evil.example.com'),
        none_raw=raw_upgrade({}), origin_raw=raw_upgrade({**AUTH, 'Origin': 'https://evil.example.com'}))

    # The browser way (token in the URL), with an allowed Origin, offering a subprotocol as some
    # frameworks do: the docs name none, so the bot must still get in and speak v1.
    q = URL + '?' + urllib.parse.urlencode({'access_token': TOKEN})
    ws, hello = await connect(q, {}, origin='https://chat.example.org', subprotocols=['switchboard.v1'])
    say('query-token', user=hello['user'], subprotocol=ws.subprotocol)
    await ws.close()
    say('query-token-closed', code=ws.close_code)

    # The bot proper: header token, the library's defaults (permessage-deflate offered), its own
    # keepalive pings off so that only the server's count.
    ws, hello = await connect(ping_interval=None)
    ws.seen = []
    say('hello', hello=hello, extensions=[e.name for e in ws.extensions], subprotocol=ws.subprotocol)
    limits = hello['limits']

    joined = await request(ws, {'type': 'join', 'ref': 'j1', 'room': 'lobby'})
    pong = await request(ws, {'type': 'ping', 'ref': 'p1'})
    say('joined', joined=joined, pong=pong)
    cursor = joined['cursor']

    got = await event(ws, 'message')  # the node client writes first
    cursor = got['cursor']
    say('got', frame=got)
    node_id = got['event']['id']

    # send with txn; the same txn again is the documented duplicate ack.
    send = {'type': 'send', 'room': 'lobby', 'txn': 'py-1', 'event': {'kind': 'message', 'text': 'héllo from python 🐍'}}
    first = await request(ws, {**send, 'ref': 's1'})
    second = await request(ws, {**send, 'ref': 's2'})
    say('sent', first=first, second=second)
    mine = first['id']

    # What the protocol offers on a message: reply, edit, reaction, retraction.
    acks = {}
    for name, ev in [
        ('reply', {'kind': 'message', 'text': 'a reply', 'replyTo': node_id}),
        ('edit', {'kind': 'edit', 'target': mine, 'text': 'héllo from python 🐍 (edited)'}),
        ('reaction', {'kind': 'reaction', 'target': node_id, 'reactions': ['👍']}),
        ('typing', {'kind': 'typing', 'state': 'active'}),
    ]:
        acks[name] = await request(ws, {'type': 'send', 'ref': name, 'room': 'lobby', 'event': ev})
    doomed = await request(ws, {'type': 'send', 'ref': 'd', 'room': 'lobby', 'event': {'kind': 'message', 'text': 'doomed'}})
    acks['retract'] = await request(ws, {'type': 'send', 'ref': 'r', 'room': 'lobby', 'event': {'kind': 'retract', 'target': doomed['id']}})
    say('actions', acks=acks, doomed=doomed['id'])

    # The node side edits its message, reacts to ours and replies to it.
    frames = [await event(ws, k) for k in ('edit', 'reaction', 'message')]
    cursor = frames[-1]['cursor']
    say('node-actions', events=[f['event'] for f in frames])

    # A text message in three fragments (continuation frames), and a fragmented send.
    pong = None
    await ws.send(['{"type":"ping",', '"ref":', '"frag"}'])
    pong = await frame_until(ws, lambda f: f.get('ref') == 'frag')
    await ws.send(iter([json.dumps({'type': 'send', 'ref': 'fs', 'room': 'lobby', 'txn': 'py-frag', 'event': {'kind': 'message', 'text': 'in '}})[:-3], '"}}']))
    frag_send = await frame_until(ws, lambda f: f.get('ref') == 'fs')
    say('fragmented', pong=pong, ack=frag_send)

    # A large, compressible message both ways: the server declined permessage-deflate, so it goes
    # as it is (just under maxPayloadBytes), and the library needs no setting for that.
    big = 'compressible ' * ((limits['maxPayloadBytes'] - 200) // 13)
    big_ack = await request(ws, {'type': 'send', 'ref': 'big', 'room': 'lobby', 'event': {'kind': 'message', 'text': big}})
    say('big', ack=big_ack, chars=len(big))
    echoed = await event(ws, 'message')
    cursor = echoed['cursor']
    say('big-back', chars=len(echoed['event']['text']), same=echoed['event']['text'] == big.upper())

    # Keepalive: our ping, answered by the server; the server's pings, answered by the library.
    rtt = await asyncio.wait_for(await ws.ping(), WAIT)
    await asyncio.sleep(limits['heartbeatMs'] * 2.5 / 1000)
    alive = await request(ws, {'type': 'ping', 'ref': 'alive'})
    say('keepalive', rtt=rtt, server_pings=ws.server_pings, alive=alive)

    # Bad input, each on a connection of its own; after each, the bot's main connection still works.
    async def bad(name, act, answer):
        other, _ = await connect(ping_interval=None)
        other.seen = []
        await act(other)
        result = await answer(other)
        still = await request(ws, {'type': 'ping', 'ref': f'after-{name}'})
        say(f'bad-{name}', result=result, still=still['type'])

    async def next_frame(c):
        f = json.loads(await asyncio.wait_for(c.recv(), WAIT))
        p = await request(c, {'type': 'ping', 'ref': 'open?'})
        await c.close()
        return {'frame': f, 'then': p['type']}

    await bad('binary', lambda c: c.send(b'{"type":"ping","ref":"bin"}'), next_frame)
    await bad('json', lambda c: c.send('{"type":'), next_frame)
    # Invalid UTF-8 in a text frame: below the library's send(), which only takes str for text.
    await bad('utf8', lambda c: c.write_frame(True, OP_TEXT, b'{"type":"ping","ref":"\xff\xfe"}'), closed)
    # One byte over the limit, incompressible, so that the frame on the wire is over it too.
    over = os.urandom(limits['maxPayloadBytes']).hex()[:limits['maxPayloadBytes'] + 1]
    await bad('oversize', lambda c: c.send(over), closed)
    # Small on the wire, over the limit once inflated: what bounds a compressed frame.
    bomb = json.dumps({'type': 'ping', 'ref': 'x' * (limits['maxPayloadBytes'] * 4)})
    await bad('inflated', lambda c: c.send(bomb), closed)
    # Fragments each under the limit, the message over it: the limit is the message's.
    piece = 'y' * (limits['maxPayloadBytes'] // 4)
    await bad('fragments', lambda c: c.send(iter(['{"type":"ping","ref":"'] + [piece] * 5 + ['"}'])), closed)
    # A client frame without a mask (RFC 6455 5.1: the server must close the connection).
    async def unmasked(c):
        c.is_client = False  # the library masks what a client sends; this one frame goes unmasked
        c.write_frame_sync(True, OP_TEXT, b'{"type":"ping","ref":"nomask"}')
        c.is_client = True
    await bad('unmasked', unmasked, closed)

    # Away and back: close cleanly, the node side writes meanwhile, resume from the last cursor.
    await ws.close()
    say('away', code=ws.close_code, cursor=cursor)
    await line()
    ws, hello = await connect(ping_interval=None)
    ws.seen = []
    joined = await request(ws, {'type': 'join', 'ref': 'j2', 'room': 'lobby', 'since': cursor})
    missed = await quiet(ws)
    say('resumed', joined=joined, missed=missed)
    live = await event(ws, 'message')
    say('live', frame=live, extra=await quiet(ws, 0.5))

    # An event from another network far larger than what we may send (maxPayloadBytes bounds only
    # client frames): the library's default max_size (1 MiB) closes on it with 1009, and would on
    # every resume; with the max_size the docs ask for, the resume gets it.
    say('waiting-large', max_size=ws.max_size)
    t = asyncio.get_running_loop().time()
    cut = await closed(ws, 40)
    cut['seconds'] = round(asyncio.get_running_loop().time() - t, 1)
    ws, hello = await connect(ping_interval=None, max_size=2**25)
    ws.seen = []
    await request(ws, {'type': 'join', 'ref': 'j3', 'room': 'lobby', 'since': live['cursor']})
    large = await event(ws, 'message')
    say('large', cut=cut, bytes=len(json.dumps(large, ensure_ascii=False).encode()), spans=len(large['event']['spans']))

    # The server shuts down: its close code and reason.
    say('waiting-shutdown')
    say('shutdown', close=await closed(ws))


asyncio.run(main())
