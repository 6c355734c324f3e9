# A stock Telethon client (Debian's python3-telethon, layer 144) in a read-only group (bridged
# receive-only), driven by test/mtproto/telethon-directions.test.ts: logged in as the bot, it
# finds the group's default rights taking writing, is refused CHAT_WRITE_FORBIDDEN, then is told
# by updateChatDefaultBannedRights when a reload makes the group writable, and speaks there. Each
# step prints one JSON line; the test answers on stdin once it has reloaded.
import asyncio

from telethon import events, types
from telethon.errors import RPCError
from telethon_steps import bot_client, line, say


async def main():
    client, token, chat_id = bot_client()
    told = asyncio.Queue()

    @client.on(events.Raw(types.UpdateChatDefaultBannedRights))
    async def on_rights(update):
        if isinstance(update.peer, types.PeerChat) and update.peer.chat_id == chat_id:
            told.put_nowait(update)

    await client.start(bot_token=token)
    dialogs = await client.get_dialogs()
    group = next(d.entity for d in dialogs if d.id == -chat_id)
    rights = group.default_banned_rights
    try:
        await client.send_message(types.InputPeerChat(chat_id), 'from telethon into the read-only group')
        refused = None
    except RPCError as err:
        refused = type(err).__name__
    say('read-only', send_messages=bool(rights and rights.send_messages), view_messages=bool(rights and rights.view_messages), refused=refused)
    await line()  # the group is bridged both ways now
    update = await asyncio.wait_for(told.get(), 20)
    sent = await client.send_message(types.InputPeerChat(chat_id), 'telethon, writable again')
    say('writable', send_messages=bool(update.default_banned_rights.send_messages), sent=sent.message)
    await client.disconnect()
    say('done')


asyncio.run(main())
