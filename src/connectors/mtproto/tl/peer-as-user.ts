// Where the schema asks for an InputUser, stock clients sometimes send the InputPeer of that
// user: gramjs 2.26 and Telethon 1.25 build a mention from `getInputEntity()` (their
// `_replaceWithMention`), which returns an inputPeerUser, and put it in
// `inputMessageEntityMentionName.user_id` as it is. That is every `<a href="tg://user?id=...">`
// and `[name](tg://user?id=...)` they send. Telegram takes it (those mentions work there); so does the bridge,
// by taking it as the InputUser of the same user (the same fields under the InputUser name).
import type { TlObject } from './codec.ts';

const AS_INPUT_USER: Readonly<Record<string, string>> = {
  inputPeerUser: 'inputUser',
  inputPeerSelf: 'inputUserSelf',
  inputPeerUserFromMessage: 'inputUserFromMessage',
};

/** The InputUser an InputPeer of a user stands for; undefined for any other object. */
export function inputUserOfPeer(obj: TlObject): TlObject | undefined {
  const name = AS_INPUT_USER[obj._];
  return name === undefined ? undefined : { ...obj, _: name };
}
