# A stock Telethon client (Debian's python3-telethon, layer 144) through two bridges/ reloads,
# driven by test/mtproto/telethon-reload.test.ts: logged in as the bot, it is told of a group
# linked (a service message of the group, with the group), speaks in it, then is told it was
# removed when the group is unlinked, is refused, and still lists it. Each step prints one JSON
# line; the test answers on stdin once it has reloaded.
import asyncio

from telethon import events, types
from telethon.errors import RPCError
from telethon_steps import bot_client, line, say


async def main():
    client, token, chat_id = bot_client()
    told = asyncio.Queue()

    @client.on(events.Raw(types.UpdateNewMessage))
    async def on_new(update):
        m = update.message
        if isinstance(m, types.MessageService) and isinstance(m.peer_id, types.PeerChat) and m.peer_id.chat_id == chat_id:
            told.put_nowait(m)

    await client.start(bot_token=token)
    await client.get_dialogs()
    say('ready')
    await line()  # the group is linked
    added = await asyncio.wait_for(told.get(), 20)
    # Telethon knows the group from the update's chats: its marked id names it.
    sent = await client.send_message(-chat_id, 'hello from telethon in ops')
    say('added', action=type(added.action).__name__, sent=sent.message)
    await line()  # the group is unlinked
    removed = await asyncio.wait_for(told.get(), 20)
    try:
        await client.send_message(types.InputPeerChat(chat_id), 'after the unlink')
        refused = None
    except RPCError as err:
        refused = type(err).__name__
    dialogs = await client.get_dialogs()
    say('removed', action=type(removed.action).__name__, user=removed.action.user_id, refused=refused,
        dialogs=sorted([d.id, type(d.entity).__name__] for d in dialogs))
    await client.disconnect()
    say('done')


asyncio.run(main())
