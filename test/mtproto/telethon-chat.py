# A stock Telethon client (Debian's python3-telethon, layer 144) in a bridged chat, driven by
# test/mtproto/telethon-interop.test.ts: pointed at the bridge (DC 2 on loopback, its RSA key added
# the way Telethon documents), the intermediate TCP transport, logged in as the bot. Each step
# prints one JSON line; the test answers on stdin where the WS side has to act first.
import asyncio
import datetime
import io
import os
import sys

from telethon import Button, events, functions, types
from telethon.errors import RPCError
from telethon_steps import client_for, line, say


def entities_of(message):
    return [[type(e).__name__, e.offset, e.length] for e in (message.entities or [])]


async def person(port, n, e, phone, chat_id):
    """A person: phone number and the code the admin passes on (here: the test, on stdin)."""
    client = client_for(port, n, e)

    async def code():
        say('code-needed')
        return await line()

    private = asyncio.get_running_loop().create_future()

    @client.on(events.NewMessage(incoming=True))
    async def on_private(event):
        if event.is_private and not private.done():
            private.set_result(event.message)

    await client.start(phone=phone, code_callback=code)
    me = await client.get_me()
    say('me', id=me.id, bot=bool(me.bot), first=me.first_name, last=me.last_name)
    # users.userFull in this layer's own shape (144's userFull is not 143's).
    full = await client(functions.users.GetFullUserRequest('relaybot'))
    say('full-user', id=full.full_user.id, bot=[bool(u.bot) for u in full.users if u.id == full.full_user.id], common=full.full_user.common_chats_count)
    sessions = await client(functions.account.GetAuthorizationsRequest())
    say('sessions', list=[[bool(a.current), a.hash, a.api_id] for a in sessions.authorizations])
    # An HTML mention: Telethon sends the bot's inputPeerUser as the mention's InputUser.
    mention = await client.send_message(types.InputPeerChat(chat_id), 'hi <a href="tg://user?id=%d">Relay Bot</a>' % full.full_user.id, parse_mode='html')
    say('mentioned', entities=entities_of(mention))
    sent = await client.send_message(types.InputPeerChat(chat_id), 'hello from a person on telethon')
    say('sent', id=sent.id)
    # An album (messages.sendMultiMedia), forwarded whole (messages.forwardMessages), and a search (messages.search).
    files = []
    for name, body in (('one.txt', b'first file ' * 30), ('two.txt', b'second file ' * 40)):
        f = io.BytesIO(body)
        f.name = name
        files.append(f)
    album = await client.send_file(types.InputPeerChat(chat_id), files, caption=['one', 'two'], force_document=True)
    say('album', ids=[m.id for m in album], groups=[m.grouped_id for m in album], texts=[m.raw_text for m in album])
    forwarded = await client.forward_messages(types.InputPeerChat(chat_id), [m.id for m in album], types.InputPeerChat(chat_id))
    say('forwarded', ids=[m.id for m in forwarded], groups=[m.grouped_id for m in forwarded], texts=[m.raw_text for m in forwarded])
    found = await client.get_messages(types.InputPeerChat(chat_id), search='person on telethon')
    say('searched', texts=[m.raw_text for m in found])
    # What the account keeps for itself, in this layer's shapes: a draft answering a message, a
    # pinned chat; and who reacted to its message.
    await client(functions.messages.SaveDraftRequest(peer=types.InputPeerChat(chat_id), message='later', reply_to_msg_id=sent.id))
    drafts = await client(functions.messages.GetAllDraftsRequest())
    say('drafts', texts=[u.draft.message for u in drafts.updates], replies=[u.draft.reply_to_msg_id for u in drafts.updates])
    await client(functions.messages.ToggleDialogPinRequest(peer=types.InputDialogPeer(types.InputPeerChat(chat_id)), pinned=True))
    pinned = await client(functions.messages.GetPinnedDialogsRequest(folder_id=0))
    say('pinned', ids=[d.peer.chat_id for d in pinned.dialogs], flags=[bool(d.pinned) for d in pinned.dialogs])
    await client(functions.messages.SendReactionRequest(peer=types.InputPeerChat(chat_id), msg_id=sent.id, reaction='👍'))
    reactors = await client(functions.messages.GetMessageReactionsListRequest(peer=types.InputPeerChat(chat_id), id=sent.id, limit=10))
    say('reactors', count=reactors.count, reactions=[[r.peer_id.user_id, r.reaction] for r in reactors.reactions])
    # A pin, the shared-media counts, and clearing the chat for itself (layer 144's shapes).
    await client.pin_message(types.InputPeerChat(chat_id), sent.id)
    full = await client(functions.messages.GetFullChatRequest(chat_id))
    counters = await client(functions.messages.GetSearchCountersRequest(peer=types.InputPeerChat(chat_id), filters=[types.InputMessagesFilterDocument()]))
    say('pinned-message', id=full.full_chat.pinned_msg_id, documents=[c.count for c in counters])
    # A second pin: both found with the pinned filter, newest first.
    second = await client.send_message(types.InputPeerChat(chat_id), 'second pin')
    await client.pin_message(types.InputPeerChat(chat_id), second.id, notify=False)
    pins = await client.get_messages(types.InputPeerChat(chat_id), filter=types.InputMessagesFilterPinned, limit=10)
    say('pins', texts=[m.raw_text for m in pins])
    await client(functions.messages.DeleteHistoryRequest(peer=types.InputPeerChat(chat_id), max_id=0, just_clear=True))
    left = await client.get_messages(types.InputPeerChat(chat_id), limit=10)
    say('cleared', texts=[m.raw_text for m in left if isinstance(m, types.Message)])
    # A video: without hachoir Telethon declares it 1x1, 0 s; the bridge reads the file (stored
    # 64x48 turned a quarter, 2 s) and answers in layer 144's shape (an int duration).
    clip = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'media', 'clip-rotated.mp4')
    video = await client.send_file(types.InputPeerChat(chat_id), clip, caption='clip')
    shape = next(a for a in video.media.document.attributes if isinstance(a, types.DocumentAttributeVideo))
    say('video', shape=[shape.w, shape.h, shape.duration], video=video.video is not None, mime=video.file.mime_type)
    # A GIF is an animation; the bot's START button; the last seen hidden from everyone and read back (layer 144's shapes).
    gif = await client.send_file(types.InputPeerChat(chat_id), os.path.join(os.path.dirname(clip), 'anim.gif'), caption='gif')
    started = await client(functions.messages.StartBotRequest(bot='relaybot', peer='relaybot', random_id=4242, start_param='tele'))
    texts = [u.message.message for u in started.updates if isinstance(u, types.UpdateNewMessage)]
    await client(functions.account.SetPrivacyRequest(key=types.InputPrivacyKeyStatusTimestamp(), rules=[types.InputPrivacyValueDisallowAll()]))
    rules = await client(functions.account.GetPrivacyRequest(key=types.InputPrivacyKeyStatusTimestamp()))
    await client(functions.account.SetPrivacyRequest(key=types.InputPrivacyKeyStatusTimestamp(), rules=[types.InputPrivacyValueAllowAll()]))
    say('gif-start-privacy', gif=gif.gif is not None, started=texts, rules=[type(r).__name__ for r in rules.rules])
    # A private chat: the WS side writes first; the answer goes to the user the update named.
    say('waiting-private')
    got = await asyncio.wait_for(private, 20)
    sender = await got.get_sender()
    say('private', text=got.raw_text, peer=type(got.peer_id).__name__, user=got.peer_id.user_id, out=bool(got.out), name=sender.first_name)
    answer = await got.reply('hello alice, from telethon')
    say('private-answered', id=answer.id, reply_to=answer.reply_to.reply_to_msg_id if answer.reply_to else None)
    # Blocking her in layer 144's shapes (contacts.block without flags), listed, then unblocked.
    alice = await got.get_input_sender()
    await client(functions.contacts.BlockRequest(id=alice))
    blocked = await client(functions.contacts.GetBlockedRequest(offset=0, limit=10))
    await client(functions.contacts.UnblockRequest(id=alice))
    after = await client(functions.contacts.GetBlockedRequest(offset=0, limit=10))
    say('blocked', ids=[b.peer_id.user_id for b in blocked.blocked], after=len(after.blocked))
    # Saved as a contact in layer 144, listed under the saved name, then removed.
    added = await client(functions.contacts.AddContactRequest(id=alice, first_name='Ally', last_name='', phone=''))
    contacts = await client(functions.contacts.GetContactsRequest(hash=0))
    await client(functions.contacts.DeleteContactsRequest(id=[alice]))
    left = await client(functions.contacts.GetContactsRequest(hash=0))
    say('contact', added=[[u.first_name, bool(u.contact)] for u in added.users], listed=[[c.user_id, c.mutual] for c in contacts.contacts],
        names=[u.first_name for u in contacts.users], after=len(left.contacts))
    # Carol (an account) adds him first; then her number finds her, and Telethon's get_entity by number too.
    say('waiting-contact')
    carol_phone = await line()
    imported = await client(functions.contacts.ImportContactsRequest(contacts=[types.InputPhoneContact(client_id=1, phone=carol_phone, first_name='Caz', last_name='')]))
    carol = await client.get_entity(carol_phone)
    say('found-by-number', imported=[i.user_id for i in imported.imported], entity=carol.id, name=carol.first_name, mutual=bool(carol.mutual_contact))
    # A message reported in layer 144's form (a reason, answered with a Bool).
    reported = await client(functions.messages.ReportRequest(peer=types.InputPeerChat(chat_id), id=[sent.id], reason=types.InputReportReasonSpam(), message='test'))
    say('report', reported=reported)
    # The archive: edit_folder, get_dialogs(archived=True), and layer 144's folders.deleteFolder.
    group = types.InputPeerChat(chat_id)
    await client.edit_folder(group, 1)
    archived = await client.get_dialogs(archived=True)
    main = await client.get_dialogs()
    await client(functions.folders.DeleteFolderRequest(folder_id=1))
    emptied = await client.get_dialogs(archived=True)
    say('archive', archived=[d.id for d in archived], main=[d.id for d in main if d.id == -chat_id], emptied=len(emptied))
    # A message for later (Telethon's own example: schedule=timedelta), its queue, and deleting it from the queue.
    later = await client.send_message(group, 'Hi, future!', schedule=datetime.timedelta(hours=1))
    queued = await client.get_messages(group, scheduled=True)
    await client(functions.messages.DeleteScheduledMessagesRequest(peer=group, id=[later.id]))
    left = await client.get_messages(group, scheduled=True)
    say('scheduled', text=later.raw_text, ahead=round((later.date.timestamp() - datetime.datetime.now().timestamp()) / 60), queued=[m.raw_text for m in queued], left=len(left))
    # Telethon's quick start: a note to oneself (Saved Messages), read back.
    note = await client.send_message('me', 'Hello, **myself**!')
    saved = await client.get_messages('me', limit=5)
    say('saved', texts=[m.raw_text for m in saved], out=[bool(m.out) for m in saved], peer=note.peer_id.user_id, bold=[type(e).__name__ for e in note.entities or []])
    renamed = await client(functions.account.UpdateProfileRequest(first_name='Tele', last_name='Thon'))
    say('renamed', first=renamed.first_name, last=renamed.last_name)
    await client.log_out()
    say('logged-out')


async def moderator(port, n, e, phone, chat_id):
    """A moderator account and the group's description (the room's topic), both ways, in layer 144."""
    client = client_for(port, n, e)
    told = asyncio.Queue()

    @client.on(events.Raw(types.UpdateChat))
    async def on_chat(update):
        told.put_nowait(update.chat_id)

    async def code():
        say('code-needed')
        return await line()

    async def about():
        return (await client(functions.messages.GetFullChatRequest(chat_id))).full_chat.about

    async def refused(text):
        try:
            await client(functions.messages.EditChatAboutRequest(peer=types.InputPeerChat(chat_id), about=text))
            return None
        except RPCError as err:
            return type(err).__name__

    await client.start(phone=phone, code_callback=code)
    full = await client(functions.messages.GetFullChatRequest(chat_id))
    rights = next(c.admin_rights for c in full.chats if c.id == chat_id)
    # Its high-level view too: get_permissions reads the member list (a chatParticipantAdmin).
    perms = await client.get_permissions(types.InputPeerChat(chat_id), 'me')
    say('rights', change_info=bool(rights and rights.change_info), delete=bool(rights and rights.delete_messages), about=full.full_chat.about,
        admin=perms.is_admin, may_change_info=perms.change_info)
    # Telethon has no helper for a basic group's description: its users call the raw request,
    # naming the group by its marked id (Telethon makes the InputPeerChat).
    done = await client(functions.messages.EditChatAboutRequest(peer=-chat_id, about='Rules, from Telethon'))
    say('about-set', result=done, told=await asyncio.wait_for(told.get(), 20), about=await about())
    say('refused', same=await refused('Rules, from Telethon'), long=await refused('x' * 256))
    say('waiting-topic')
    chat = await asyncio.wait_for(told.get(), 20)
    say('topic', told=chat, about=await about())
    await client.disconnect()


async def main():
    if sys.argv[1] == 'moderator':
        await moderator(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
        say('done')
        return
    if sys.argv[1] == 'person':
        await person(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
        say('done')
        return
    port, n, e, token, chat_id, ws_text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
    client = client_for(port, n, e)
    from_ws = asyncio.get_running_loop().create_future()

    @client.on(events.NewMessage(incoming=True))
    async def on_new(event):
        if event.raw_text == ws_text and not from_ws.done():
            from_ws.set_result(event.message)

    await client.start(bot_token=token)
    me = await client.get_me()
    say('me', id=me.id, bot=bool(me.bot))
    dialogs = await client.get_dialogs()
    say('dialogs', list=[[d.id, d.title, d.is_group] for d in dialogs])
    peer = types.InputPeerChat(chat_id)

    sent = await client.send_message(peer, 'hello from telethon', formatting_entities=[types.MessageEntityBold(0, 5)])
    say('sent', id=sent.id, entities=entities_of(sent))
    # The same random_id twice: one message (the second answer names the first).
    once = await client(functions.messages.SendMessageRequest(peer=peer, message='once', random_id=0x5157_4954_4348_0001))
    twice = await client(functions.messages.SendMessageRequest(peer=peer, message='once', random_id=0x5157_4954_4348_0001))
    say('resent', first=once.id, second=twice.id)

    got = await asyncio.wait_for(from_ws, 20)
    say('got', text=got.raw_text, entities=entities_of(got), out=bool(got.out), sender=got.sender_id)

    await client.edit_message(peer, sent.id, 'hello from telethon (edited)')
    say('edited')
    # The buttons alone (no text: Telethon leaves `message` out), as bots do after a press.
    pressed = await client.edit_message(peer, sent.id, buttons=Button.inline('Done', b'done'))
    say('buttons', text=pressed.raw_text, rows=[[b.text for b in row.buttons] for row in pressed.reply_markup.rows])
    await client(functions.messages.SendReactionRequest(peer=peer, msg_id=sent.id, reaction='👍'))
    say('reacted')
    history = await client.get_messages(peer, limit=5)
    say('history', texts=[m.raw_text for m in history if isinstance(m, types.Message) and m.action is None])
    await client.delete_messages(peer, [sent.id])
    say('deleted')
    # A reply keyboard and its removal in layer 144, read back from the server.
    menu = await client.send_message(peer, 'menu', buttons=[Button.text('Go', resize=True, single_use=True)])
    closed = await client.send_message(peer, 'closed', buttons=Button.clear())
    shown = await client.get_messages(peer, ids=[menu.id, closed.id])
    say('reply-keyboard', kinds=[type(m.reply_markup).__name__ for m in shown], labels=[b.text for row in shown[0].reply_markup.rows for b in row.buttons],
        resize=bool(shown[0].reply_markup.resize), once=bool(shown[0].reply_markup.single_use), texts=[m.raw_text for m in shown])

    try:
        await client(functions.stickers.CheckShortNameRequest(short_name='switchboard'))
        say('unknown', code=None)
    except RPCError as err:
        say('unknown', code=err.code, error=type(err).__name__, text=str(err))
    try:
        await client.send_message(types.InputPeerChat(424242), 'nowhere')
        say('bad-peer', code=None)
    except RPCError as err:
        say('bad-peer', code=err.code, error=type(err).__name__)
    still = await client.send_message(peer, 'still here')
    say('still', id=still.id)
    state = await client(functions.updates.GetStateRequest())
    say('state', pts=state.pts)

    # Away while the WS side talks; back on the same key, updates.getDifference from that state.
    await client.disconnect()
    say('away')
    await line()
    await client.connect()
    diff = await client(functions.updates.GetDifferenceRequest(pts=state.pts, date=state.date, qts=0))
    say('difference', kind=type(diff).__name__, texts=[m.message for m in diff.new_messages],
        pts=diff.state.pts, users=sorted(u.id for u in diff.users), chats=[c.id for c in diff.chats])
    again = await client(functions.updates.GetDifferenceRequest(pts=diff.state.pts, date=diff.state.date, qts=0))
    say('difference-again', kind=type(again).__name__)
    await line()  # the test has checked the WS side
    await client.disconnect()
    say('done')


asyncio.run(main())
