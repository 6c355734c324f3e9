# A stock slixmpp client (Debian's python3-slixmpp 1.8) in a bridged MUC, driven by
# test/xmpp/slixmpp-interop.test.ts, and in direct chats with puppets, driven by
# test/xmpp/slixmpp-direct.test.ts. Every stanza it sends is built with slixmpp's own plugins
# (their encoding, not ours); everything it receives is reported as slixmpp's plugins parsed it.
#
# argv: port jid password room nick; room '-' joins no room (direct chats only).
# stdout: one JSON object a line, {"step": ...}: what happened (joined or started, a room message,
# a plugin event; in direct chats the same steps prefixed `dm-`, with the sender as `from`) and the
# answer to each command ({"step": "done", "ref": ...}).
# stdin: one JSON command a line, {"ref": n, "do": "send" | "correct" | ... | "dm-send" | ..., ...}.
import asyncio
import json
import sys
import uuid
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

# xep_0184 as it comes: it acknowledges every message that asks for a receipt (auto_ack), as clients built on it do.
PLUGINS = ['xep_0030', 'xep_0045', 'xep_0054', 'xep_0066', 'xep_0085', 'xep_0153', 'xep_0184', 'xep_0199', 'xep_0308',
           'xep_0333', 'xep_0334', 'xep_0359', 'xep_0422', 'xep_0424', 'xep_0425', 'xep_0428', 'xep_0444', 'xep_0461']


def say(step, **fields):
    print(json.dumps({'step': step, **fields}), flush=True)


async def line():
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


def reply_to(msg, reply_id, author, quote):
    """A reply (xep_0461's stanza) to `reply_id` by `author`; the body starts with `quote` (or None), marked as
    its fallback the way the plugin models it (XEP-0428 under its first name, urn:xmpp:feature-fallback:0)."""
    msg['reply']['id'] = reply_id
    msg['reply']['to'] = author
    if quote:
        msg['feature_fallback']['for'] = 'urn:xmpp:reply:0'
        msg['feature_fallback']['fallback_body']['start'] = '0'
        msg['feature_fallback']['fallback_body']['end'] = str(len(quote))


async def answered(request):
    """An iq request's answer and no error, or no answer and the error condition the server gave."""
    try:
        return await request, None
    except IqError as e:
        return None, {'error': e.iq['error']['condition']}


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, room, nick):
        super().__init__(jid, password)
        self.room = slixmpp.JID(room) if room != '-' else None
        self.nick = nick
        # Our own messages' reflections by id: what the room stamped on them (their stanza-id).
        self.reflections = {}
        for p in PLUGINS:
            self.register_plugin(p)
        self.add_event_handler('session_start', self.on_start)
        self.add_event_handler('groupchat_message', self.on_groupchat)
        self.add_event_handler('groupchat_presence', self.on_presence)
        # groupchat_message (xep_0045) is only for messages with a body; reactions and retractions have none.
        self.register_handler(Callback('reflections', StanzaPath('message@type=groupchat'), self.on_reflection))
        self.add_event_handler('message_correction', lambda m: self.report(m, 'correction', replace_id=m['replace']['id'], body=m['body']))
        self.add_event_handler('reactions', lambda m: self.report(m, 'reactions', id=m['reactions']['id'], emojis=sorted(m['reactions']['values'])))
        self.add_event_handler('message_reply', lambda m: self.report(m, 'reply', id=m['reply']['id'], to=str(m['reply']['to']), body=m['body']))
        self.add_event_handler('message_retract', lambda m: self.report(m, 'retract', id=m['apply_to']['id']))
        # XEP-0425 (0.2, slixmpp 1.8's): a room's announcement that a moderator removed a message.
        self.add_event_handler('moderated_message', lambda m: self.report(m, 'moderated', id=m['apply_to']['id'],
                               by=str(m['apply_to']['moderated']['by']), reason=m['apply_to']['moderated']['reason']))
        # XEP-0045 §8.1 (xep_0045's own handler: a <subject/> without <body> or <thread>): a change, or the join's subject.
        self.add_event_handler('groupchat_subject', lambda m: self.report(m, 'subject', subject=m['subject'], delayed=m.xml.find('{urn:xmpp:delay}delay') is not None))
        self.add_event_handler('chatstate', lambda m: self.report(m, 'chatstate', state=m['chat_state']))
        self.add_event_handler('marker_displayed', lambda m: self.report(m, 'marker', id=m['displayed']['id']))
        # Direct chats only (rooms use no receipts): XEP-0184 receipts, and every message with a body.
        self.add_event_handler('receipt_received', lambda m: self.report(m, 'receipt', id=m['receipt']))
        self.add_event_handler('message', self.on_message)
        self.add_event_handler('message_error', lambda m: self.report(m, 'error', id=m['id'], condition=m['error']['condition']))
        self.started = asyncio.get_event_loop().create_future()

    def in_room(self, jid):
        return self.room is not None and jid.bare == self.room.bare

    def report(self, msg, step, **fields):
        if not self.in_room(msg['from']):
            # A direct chat: what a puppet (or anybody else but the room) sent us, with its type.
            if msg['type'] != 'groupchat':
                say('dm-' + step, **{'from': str(msg['from']), 'type': msg['type']}, **fields)
            return
        # Only what came through the room from someone else: the room echoes our own stanzas too.
        if msg['from'].resource == self.nick:
            return
        say(step, nick=msg['from'].resource, **fields)

    def on_message(self, msg):
        # Room messages have their own handler; a direct chat's messages with a body (not fallbacks of retractions).
        if msg['type'] == 'groupchat' or self.in_room(msg['from']) or not msg['body'] or msg.xml.find('{urn:xmpp:fasten:0}apply-to') is not None:
            return
        oob = msg['oob']['url'] if msg.xml.find('{jabber:x:oob}x') is not None else None
        nick = msg.xml.find('{http://jabber.org/protocol/nick}nick')
        self.report(msg, 'message', id=msg['id'], origin_id=msg['origin_id']['id'], body=msg['body'], oob=oob,
                    replace=msg['replace']['id'] or None, reply=msg['reply']['id'] or None,
                    request_receipt=bool(msg['request_receipt']), markable=msg.xml.find('{urn:xmpp:chat-markers:0}markable') is not None,
                    nick=nick.text if nick is not None else None)

    async def on_start(self, _):
        self.send_presence()
        self.started.set_result(True)

    def on_presence(self, pres):
        if self.in_room(pres['from']):
            say('presence', nick=pres['from'].resource, type=pres['type'], jid=str(pres['muc']['jid']), affiliation=pres['muc']['affiliation'])

    def on_reflection(self, msg):
        sid = msg['stanza_id']
        waiter = self.reflections.get(msg['id'])
        if msg['from'].resource == self.nick and waiter is not None and not waiter.done():
            waiter.set_result({'stanza_id': sid['id'], 'by': str(sid['by'])})

    def on_groupchat(self, msg):
        sid = msg['stanza_id']
        if msg['from'].resource == self.nick:
            return
        oob = msg['oob']['url'] if msg.xml.find('{jabber:x:oob}x') is not None else None
        self.report(msg, 'message', id=msg['id'], origin_id=msg['origin_id']['id'], stanza_id=sid['id'], by=str(sid['by']),
                    body=msg['body'], oob=oob, replace=msg['replace']['id'] or None,
                    reply=msg['reply']['id'] or None, reactions=msg['reactions']['id'] or None)

    async def joined(self):
        """Joins the room (no history) and answers with the subject message the join ended with: its text and sender."""
        _, subject, _, _ = await self['xep_0045'].join_muc_wait(self.room, self.nick, maxstanzas=0, timeout=20)
        return {'room': str(self.room), 'nick': self.nick, 'subject': subject['subject'], 'subject_from': str(subject['from'])}

    def groupchat(self, body=None):
        """A room message with an id that is also its origin-id (XEP-0359, what XEP-0424 0.3 asks of every message)."""
        msg = self.make_message(mto=self.room, mbody=body, mtype='groupchat')
        msg['id'] = 'slix-' + uuid.uuid4().hex[:12]
        msg['origin_id']['id'] = msg['id']
        return msg

    async def sent(self, msg):
        """Sends a message and waits for the room's reflection: the id the room gave it (stanza-id)."""
        waiter = asyncio.get_event_loop().create_future()
        self.reflections[msg['id']] = waiter
        msg.send()
        got = await asyncio.wait_for(waiter, 10)
        return {'id': msg['id'], 'stanza_id': got['stanza_id'], 'by': got['by']}

    def chat(self, to, body=None):
        """A direct message as clients send one: its id also its origin-id, a receipt request (XEP-0184), active (XEP-0085)."""
        msg = self.make_message(mto=to, mbody=body, mtype='chat')
        msg['id'] = 'slix-' + uuid.uuid4().hex[:12]
        msg['origin_id']['id'] = msg['id']
        if body is not None:
            msg['request_receipt'] = True
            msg['chat_state'] = 'active'
        return msg

    def direct(self, c):
        """The direct-chat commands (`dm-...`): each sends one message to the puppet `to` and answers with its id."""
        do, to = c['do'], slixmpp.JID(c['to'])
        if do == 'dm-send':
            msg = self.chat(to, c['body'])
        elif do == 'dm-correct':
            msg = self.chat(to, c['body'])
            msg['replace']['id'] = c['id']
        elif do == 'dm-react':
            msg = self.chat(to)
            self['xep_0444'].set_reactions(msg, c['id'], c['emojis'])
            msg.enable('store')
        elif do == 'dm-reply':
            quote = c.get('quote')
            msg = self.chat(to, (quote or '') + c['body'])
            reply_to(msg, c['id'], c['reply_to'], quote)
        elif do == 'dm-retract':
            # The plugin's own stanza: XEP-0424 0.3, an XEP-0422 fastening naming the origin-id.
            self['xep_0424'].send_retraction(to, c['id'], mtype='chat')
            return {}
        elif do == 'dm-displayed':
            # The plugin's own stanza (send_marker sets no type: a `normal` message).
            self['xep_0333'].send_marker(to, c['id'], 'displayed')
            return {}
        elif do == 'dm-chatstate':
            msg = self.make_message(mto=to, mtype='chat')
            msg['chat_state'] = c['state']
        else:
            raise ValueError('unknown command ' + do)
        msg.send()
        return {'id': msg['id']}

    async def command(self, c):
        do = c['do']
        if do.startswith('dm-'):
            return self.direct(c)
        if do == 'send':
            msg = self.groupchat(c['body'])
            if c.get('oob'):
                msg['oob']['url'] = c['oob']
            return await self.sent(msg)
        if do == 'correct':
            msg = self.groupchat(c['body'])
            msg['replace']['id'] = c['id']
            return await self.sent(msg)
        if do == 'react':
            msg = self.groupchat()
            # send_reactions() of 1.8 has no message type (a room needs groupchat): the plugin's own setter.
            self['xep_0444'].set_reactions(msg, c['id'], c['emojis'])
            msg.enable('store')
            return await self.sent(msg)
        if do == 'reply':
            quote = c.get('quote')
            msg = self.groupchat((quote or '') + c['body'])
            reply_to(msg, c['id'], c['to'], quote)
            return await self.sent(msg)
        if do == 'retract':
            # The plugin's own stanza (XEP-0424 0.3: an XEP-0422 fastening, by origin-id), sent as it builds it.
            self['xep_0424'].send_retraction(self.room, c['id'], mtype='groupchat')
            return {}
        if do == 'moderate':
            # The plugin's own request (XEP-0425 0.2), to the room, which checks our role.
            _, error = await answered(self['xep_0425'].moderate(self.room, c['id'], c.get('reason', ''), timeout=10))
            return error or {}
        if do == 'affiliate':
            # XEP-0045 §10.6 (the owner grants an affiliation), the plugin's own request.
            await self['xep_0045'].set_affiliation(self.room, c['affiliation'], jid=slixmpp.JID(c['jid']), timeout=10)
            return {}
        if do == 'subject':
            # XEP-0045 §8.1, the plugin's own stanza (its set_subject waits for nothing: the room's broadcast is a `subject` step).
            # An empty text drops the element (slixmpp removes a sub-element set to ''): no <subject/> is sent at all.
            self['xep_0045'].set_subject(self.room, c['text'])
            return {}
        if do == 'clear-subject':
            # What a client built on slixmpp 1.8 has to send itself to clear the subject: an empty <subject/>.
            msg = self.make_message(mto=self.room, mtype='groupchat')
            msg.xml.append(ET.Element('{%s}subject' % msg.namespace))
            msg.send()
            return {}
        if do == 'rejoin':
            # Leaves the room and joins again: the subject the join gets (§7.2.15), as join_muc_wait returns it.
            # It joins once the room has said we left: join_muc_wait takes the first self-presence (status 110)
            # as the join's, so the leave's would be taken, and the join's then raise in its handler (set
            # twice), which slixmpp answers with an error that gets us kicked (333).
            # (The plugin forgets the room as it leaves, and slixmpp raises no presence event for a room: a
            # handler of its own sees the room's answer.)
            left = asyncio.get_event_loop().create_future()
            me = slixmpp.JID('%s/%s' % (self.room.bare, self.nick))
            self.register_handler(Callback('left', StanzaPath('presence@type=unavailable'),
                                           lambda p: p['from'] != me or left.done() or left.set_result(p)))
            try:
                self['xep_0045'].leave_muc(self.room, self.nick)
                await asyncio.wait_for(left, 10)
            finally:
                self.remove_handler('left')
            return await self.joined()
        if do == 'chatstate':
            msg = self.make_message(mto=self.room, mtype='groupchat')
            msg['chat_state'] = c['state']
            msg.send()
            return {}
        if do == 'displayed':
            # send_marker() of 1.8 has no message type either: the plugin's stanza on a groupchat message.
            msg = self.make_message(mto=self.room, mtype='groupchat')
            msg['displayed']['id'] = c['id']
            msg.send()
            return {}
        if do == 'disco':
            info, error = await answered(self['xep_0030'].get_info(jid=c['jid'], timeout=10))
            if error:
                return error
            q = info['disco_info']
            # slixmpp's identity tuples: (category, type, lang, name).
            return {'identities': sorted([[i[0], i[1], i[3]] for i in q['identities']]), 'features': sorted(q['features'])}
        if do == 'vcard':
            iq, error = await answered(self['xep_0054'].get_vcard(jid=c['jid'], timeout=10))
            if error:
                return error
            v = iq['vcard_temp']
            return {'nicknames': [str(n) for n in v['NICKNAME']], 'fn': v['FN'] or None}
        if do == 'namespaces':
            # The feature each plugin stands for, as slixmpp itself names it.
            oob = self['xep_0066'].stanza.OOB.namespace
            chatstates = self['xep_0085'].stanza.ChatState.namespace
            return {'namespaces': {
                'xep_0308': self['xep_0308'].stanza.Replace.namespace, 'xep_0424': self['xep_0424'].namespace,
                'xep_0444': self['xep_0444'].namespace, 'xep_0461': self['xep_0461'].namespace,
                'xep_0085': chatstates, 'xep_0333': self['xep_0333'].stanza.NS, 'xep_0066': oob}}
        if do == 'ping':
            _, error = await answered(self['xep_0199'].ping(jid=c['jid'], timeout=10))
            return error or {'pong': True}
        raise ValueError('unknown command ' + do)


async def main(port, jid, password, room, nick):
    client = Client(jid, password, room, nick)
    # The test's Prosody: plain TCP on loopback, no TLS (SCRAM over it is fine for a throwaway server).
    client.connect(address=('127.0.0.1', int(port)), force_starttls=False, disable_starttls=True)
    await asyncio.wait_for(client.started, 20)
    if client.room is None:
        say('started', jid=str(client.boundjid))
    else:
        say('joined', **await client.joined())
    while True:
        raw = await line()
        if raw == '':
            break
        c = json.loads(raw)
        if c['do'] == 'quit':
            break
        try:
            answer = await client.command(c)
        except (IqTimeout, asyncio.TimeoutError) as e:
            answer = {'error': 'timeout: ' + type(e).__name__}
        say('done', ref=c['ref'], **answer)
    client.disconnect()
    await asyncio.sleep(0.2)
    say('bye')


if __name__ == '__main__':
    asyncio.run(main(*sys.argv[1:6]))
