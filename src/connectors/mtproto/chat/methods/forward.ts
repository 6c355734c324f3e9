// messages.forwardMessages: messages of one conversation the account sees, sent again into
// another (or the same). The canonical event has no "forwarded" field, so a forward is a new
// message of the account with the original's text, formatting and files, under a first line that
// names whose it was ("Forwarded from <name>", the name a mention of them), as mautrix-telegram
// renders Telegram's forwards on other networks; `drop_author` leaves the line out. The messages
// of one album forwarded together stay one message (an album again). With a schedule_date, each
// copy is queued instead (methods/scheduled.ts).
import { newEventId } from '../../../../core/ids.ts';
import type { Span } from '../../../../core/event.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { displayName } from '../directory.ts';
import { checked, originOf, publishAll, actorOf } from '../inbound.ts';
import type { MessageRecord } from '../message-box.ts';
import { MAX_ALBUM_FILES } from '../event-entries.ts';
import { badRequest, chatOfPeer, listField, liveMessage, objectField, register, updatesOf, viewOf, type ChatDeps } from './common.ts';
import { newMessageUpdates } from './sent-updates.ts';
import { refuseUnserved } from './message-input.ts';
import { scheduleAll, type ToQueue } from './scheduled.ts';

/** Messages one call forwards at most (Telegram's limit). */
export const MAX_FORWARDED = 100;

/** One message to send: the originals it copies (several: one album) and their random_ids. */
interface Copy {
  readonly originals: MessageRecord[];
  readonly randomIds: bigint[];
}

/** Consecutive originals of one album become one copy (at most an album's worth of files). */
function copiesOf(records: readonly MessageRecord[], randomIds: readonly bigint[]): Copy[] {
  const copies: Copy[] = [];
  records.forEach((record, i) => {
    const last = copies.at(-1);
    const previous = last?.originals.at(-1);
    if (last !== undefined && record.group !== undefined && previous?.group === record.group && last.originals.length < MAX_ALBUM_FILES) {
      last.originals.push(record);
      last.randomIds.push(randomIds[i]!);
    } else {
      copies.push({ originals: [record], randomIds: [randomIds[i]!] });
    }
  });
  return copies;
}

export function registerForward(methods: MethodRegistry, deps: ChatDeps): void {
  /** The line naming whose a forwarded message was, with a mention of them when they have a canonical reference. */
  async function attributionOf(userId: string): Promise<{ text: string; spans: Span[] }> {
    const person = await deps.people.person(BigInt(userId));
    const name = person === undefined ? 'someone' : person.kind === 'account' ? displayName(deps.profiles.shown(person.account)) || String(person.account.id) : person.puppet.name;
    const prefix = 'Forwarded from ';
    const user = person === undefined ? undefined : deps.people.userRef(BigInt(userId));
    return { text: `${prefix}${name}`, spans: user === undefined ? [] : [{ type: 'mention', offset: prefix.length, length: name.length, user }] };
  }

  register(methods, deps, 'messages.forwardMessages', 'user', async (call, ctx) => {
    refuseUnserved(call);
    const view = viewOf(deps, ctx);
    const account = view.account;
    const from = await chatOfPeer(deps, account, objectField(call, 'from_peer'));
    const to = await chatOfPeer(deps, account, objectField(call, 'to_peer'), 'post');
    const ids = listField(call, 'id');
    const randomIds = listField(call, 'random_id');
    if (ids.length === 0) throw badRequest('MESSAGE_IDS_EMPTY');
    if (ids.length > MAX_FORWARDED) throw badRequest('MESSAGE_ID_INVALID');
    if (randomIds.length !== ids.length || randomIds.some((r) => typeof r !== 'bigint') || new Set(randomIds).size !== randomIds.length) throw badRequest('RANDOM_ID_INVALID');
    const originals: MessageRecord[] = [];
    for (const id of ids) {
      const record = await liveMessage(deps, from, typeof id === 'number' ? id : 0);
      if (record.service !== undefined) throw badRequest('MESSAGE_ID_INVALID');
      originals.push(record);
    }
    const dropAuthor = call['drop_author'] === true;
    const dropCaptions = call['drop_media_captions'] === true;
    const copies = copiesOf(originals, randomIds as bigint[]);
    const bodies: ToQueue[] = [];
    const items = [];
    for (const copy of copies) {
      const first = copy.originals[0]!;
      const withText = copy.originals.find((r) => r.text !== '' && !(dropCaptions && r.media !== undefined));
      let text = withText?.text ?? '';
      let spans: Span[] = [...(withText?.spans ?? [])];
      if (!dropAuthor) {
        const line = await attributionOf(first.from);
        const shift = text === '' ? 0 : line.text.length + 1;
        spans = [...line.spans, ...spans.map((s) => ({ ...s, offset: s.offset + shift }))];
        text = text === '' ? line.text : `${line.text}\n${text}`;
      }
      const media = copy.originals.flatMap((r) => (r.media === undefined ? [] : [r.media]));
      const files = media.map((m) => deps.files.attachment(m));
      if (text === '' && files.length === 0) throw badRequest('MESSAGE_EMPTY');
      bodies.push({ text, spans, media, randomIds: copy.randomIds });
      const event = checked({
        v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: to.room, sender: actorOf(deps, account), origin: originOf(to, ctx),
        text, ...(spans.length > 0 ? { spans } : {}), ...(files.length > 0 ? { attachments: files } : {}),
      });
      items.push({ chat: to, event, txn: `fwd:${copy.randomIds[0]!.toString()}` });
    }
    // With a schedule_date: queued (methods/scheduled.ts), one queued item a copy.
    const queued = await scheduleAll(deps, ctx, account, to, call, bodies);
    if (queued !== undefined) return queued;
    const published = await publishAll(deps, account, ctx.turn, items);
    const sent = await newMessageUpdates(deps, account, view, to, published.map((p, i) => ({ id: p.id, randomIds: copies[i]!.randomIds })));
    return updatesOf(deps, view, sent.updates, sent.users, [to]);
  });
}
