# What the Telethon step scripts (telethon-*.py) share: one JSON line per step on stdout, the
# test's answers on stdin, and a stock client pinned to the bridge's key and port, as a user would
# point one at Switchboard.
import asyncio
import json
import sys

import rsa
from telethon import TelegramClient
from telethon.crypto import rsa as telethon_rsa
from telethon.network import ConnectionTcpIntermediate
from telethon.sessions import MemorySession


def say(step, **fields):
    print(json.dumps({'step': step, **fields}), flush=True)


async def line():
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


def client_for(port, n, e):
    """A stock client (not yet started) for the bridge on this loopback port, its RSA key added the way Telethon documents."""
    telethon_rsa.add_key(rsa.PublicKey(n, e).save_pkcs1(), old=False)
    session = MemorySession()
    session.set_dc(2, '127.0.0.1', int(port))
    return TelegramClient(session, 1, 'switchboard-test', connection=ConnectionTcpIntermediate, connection_retries=3, request_retries=2, receive_updates=True)


def bot_client():
    """From the arguments (port, n, e, bot token, chat id): the client, the token to start it with and the chat id."""
    port, n, e, token, chat_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    return client_for(port, n, e), token, chat_id
