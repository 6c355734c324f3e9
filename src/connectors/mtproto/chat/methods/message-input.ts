// What a call says of the message it sends or saves: its text and formatting (checked like any
// input: length, mentions; a bot's buttons as lines under it) and the message it answers. One reading for sends, edits and drafts.
import type { Span } from '../../../../core/event.ts';
import type { TlObject, TlValue } from '../../tl/codec.ts';
import type { Account } from '../directory.ts';
import { buttonLines } from '../buttons.ts';
import { inlineRowsOf, linelessKeyboardOf, replyKeyboardOf, type Keyboard } from '../keyboards.ts';
import { entitiesToSpans } from '../entities.ts';
import { badRequest, intField, listField, objectField, stringField, userOfInput, type ChatDeps } from './common.ts';

export function objects(list: TlValue[]): TlObject[] {
  return list.filter((v): v is TlObject => typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array));
}

/** The message a send replies to: `reply_to` (layer 158+) or `reply_to_msg_id` (older). */
export function replyIdOf(call: TlObject): number | undefined {
  const replyTo = objectField(call, 'reply_to');
  const id = replyTo?._ === 'inputReplyToMessage' ? intField(replyTo, 'reply_to_msg_id') : intField(call, 'reply_to_msg_id');
  return id > 0 ? id : undefined;
}

/** Entities of one text looked at at most (entitiesToSpans keeps as many spans). */
const MAX_ENTITIES = 1_024;

/**
 * The text and spans of a call's message and entities, checked against the limits. A mention
 * names a user as any input does (userOfInput): one the account may not name is refused with
 * ENTITY_MENTION_USER_INVALID, as Telegram does, so mentions cannot tell which ids exist. The
 * server's own form (messageEntityMentionName, a bare id) is not taken from a client: plain text.
 */
export async function textOf(deps: ChatDeps, account: Account, call: TlObject, allowEmpty: boolean): Promise<{ text: string; spans: Span[]; keyboard?: Keyboard }> {
  const text = stringField(call, 'message') ?? '';
  if (text.trim() === '' && !allowEmpty) throw badRequest('MESSAGE_EMPTY');
  if (text.length > deps.maxTextLength) throw badRequest('MESSAGE_TOO_LONG');
  if (/\p{Cs}/u.test(text)) throw badRequest('MESSAGE_EMPTY');
  const entities: TlObject[] = [];
  for (const e of objects(listField(call, 'entities')).slice(0, MAX_ENTITIES)) {
    if (e._ === 'messageEntityMentionName') continue;
    if (e._ === 'inputMessageEntityMentionName') {
      // Checked, then named by its id: every input form (a hash, itself, from a message) the same.
      const id = await userOfInput(deps, account, objectField(e, 'user_id'));
      if (id === undefined) throw badRequest('ENTITY_MENTION_USER_INVALID');
      entities.push({ ...e, _: 'messageEntityMentionName', user_id: id });
      continue;
    }
    entities.push(e);
  }
  const spans = entitiesToSpans(text, entities, deps.people);
  // Telegram takes reply_markup from bots only.
  return withButtons(text, spans, account.bot ? objectField(call, 'reply_markup') : undefined);
}

/**
 * A text with a bot's buttons as lines under it (buttons.ts), and the keyboard (keyboards.ts):
 * where the lines begin, and the rows MTProto clients get instead of them when it holds only
 * links and callbacks.
 */
export function withButtons(text: string, spans: Span[], markup: TlObject | undefined): { text: string; spans: Span[]; keyboard?: Keyboard } {
  // Taking a reply keyboard away, or a force reply, adds no lines; MTProto clients get it (keyboards.ts).
  const lineless = linelessKeyboardOf(markup, text.length);
  if (lineless !== undefined) return { text, spans, keyboard: lineless };
  const buttons = buttonLines(markup);
  if (typeof buttons === 'string') throw badRequest(buttons);
  if (buttons === undefined) return { text, spans };
  const rows = inlineRowsOf(markup);
  if (typeof rows === 'string') throw badRequest(rows);
  const reply = replyKeyboardOf(markup);
  const gap = text === '' ? '' : '\n\n';
  const at = text.length + gap.length;
  return {
    text: text + gap + buttons.text, spans: [...spans, ...buttons.spans.map((span) => ({ ...span, offset: span.offset + at }))],
    // Rows of none: the lines stay for MTProto clients too; where they begin is kept all the same (a later edit of the buttons alone replaces them).
    keyboard: reply !== undefined ? { at: text.length, ...reply } : { at: text.length, rows: rows ?? [] },
  };
}

/**
 * What a send asks for that is not served, refused before anything is published rather than
 * done differently: sending as another peer (SEND_AS_PEER_INVALID).
 */
export function refuseUnserved(call: TlObject): void {
  if (call['send_as'] !== undefined) throw badRequest('SEND_AS_PEER_INVALID');
}
