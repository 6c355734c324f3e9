// A group's description set from a client (messages.editChatAbout): the room's topic, published
// as a canonical `topic` and so set on every network of the room. Only a moderator account (the
// groups' admin, render.ts: `change_info`) may, as only a group's admins may on Telegram; what
// else an admin could change stays the operator's (group-admin.ts).
import { newEventId } from '../../../../core/ids.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import { MAX_ABOUT_CHARS } from '../group-about.ts';
import { actorOf, checked, originOf, publishInTurn } from '../inbound.ts';
import { topicShownIn } from '../group-direction.ts';
import { badRequest, chatOfPeer, objectField, register, stringField, viewOf, type ChatDeps } from './common.ts';

export function registerGroupAbout(methods: MethodRegistry, deps: ChatDeps): void {
  // Checked as Telegram does, each refusal before anything is published: a peer that is no group
  // the account sees (a user's private chat has no description to set), an account that is no
  // admin there, an about too long, the about the group has now.
  register(methods, deps, 'messages.editChatAbout', 'user', async (call, ctx) => {
    const { account } = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), 'post');
    if (chat.direct !== undefined) throw badRequest('PEER_ID_INVALID');
    if (account.moderator !== true) throw badRequest('CHAT_ADMIN_REQUIRED');
    const about = stringField(call, 'about') ?? '';
    if ([...about].length > MAX_ABOUT_CHARS) throw badRequest('CHAT_ABOUT_TOO_LONG');
    if (about === await deps.abouts.of(chat, topicShownIn(deps.routing, chat))) throw badRequest('CHAT_ABOUT_NOT_MODIFIED');
    const event = checked({
      v: 1, id: newEventId(), ts: Date.now(), kind: 'topic', room: chat.room, sender: actorOf(deps, account), origin: originOf(chat, ctx), text: about,
    });
    deps.logger.info({ chat: chat.address, user: String(account.id), event: event.id, cleared: about === '' }, 'mtproto: a moderator sets the group\'s description (the room\'s topic)');
    // Answered once the writer stored it (it comes back to this group: MTProto is a hosted
    // connector), so that the full chat the app asks for next shows it; members are told there.
    const wait = deps.abouts.expect(event.id, deps.publishWaitMs);
    try {
      await publishInTurn(deps, account, ctx.turn, [{ chat, event }]);
    } catch (err) {
      wait.cancel();
      throw err;
    }
    // The room's current topic for every network (../../room-topics.ts).
    if (event.kind === 'topic') deps.abouts.published(event);
    if (!await wait.done) {
      deps.logger.warn({ user: String(account.id), event: event.id, waitMs: deps.publishWaitMs }, 'mtproto: a published topic was not delivered back in time');
      throw new RpcError(500, 'MSG_WAIT_TIMEOUT');
    }
    return true;
  });
}
