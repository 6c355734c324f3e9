// A press of a bot's callback button (messages.getBotCallbackAnswer) reaching the bot and its
// answer (messages.setBotCallbackAnswer) coming back, on whichever instances the presser and the
// bot are served. The state holds both: the query as `cbq:<id>`, the answer as `cba:<id>`, each
// for QUERY_TTL_MS; notes between instances only make them arrive sooner (a note is a hint, never
// the only copy). The presser's call waits for the answer (the note, or the state read every
// POLL_MS) up to the timeout, then is BOT_RESPONSE_TIMEOUT, as on Telegram.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Notes, StateStore, Stoppable } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { parseJsonAs } from './json-record.ts';

export const CALLBACK_CHANNEL = 'mtproto-callbacks';
/** How long a query and its answer are kept (longer than any wait for them). */
const QUERY_TTL_MS = 60_000;
/** How often a waiting press reads the state for its answer (a lost note costs at most this). */
const POLL_MS = 250;

const Id = z.string().regex(/^\d{1,20}$/);
const QuerySchema = z.object({ id: Id, bot: Id, user: Id, chat: z.string().min(1).max(512), msg: z.number().int().positive(), data: z.string().max(128) });
/** A press: who pressed which button (its data, base64) of which message, for which bot. */
export type CallbackQuery = z.infer<typeof QuerySchema>;

const AnswerSchema = z.object({ message: z.string().max(200).optional(), alert: z.boolean().optional(), cacheTime: z.number().int().min(0).max(86_400 * 366) });
export type CallbackAnswer = z.infer<typeof AnswerSchema>;

const NoteSchema = z.object({ kind: z.enum(['query', 'answer']), id: Id });

interface Waiter {
  resolve(answer: CallbackAnswer | undefined): void;
}

export class CallbackQueries {
  readonly #waiting = new Map<string, Waiter>();
  #deliver: (query: CallbackQuery) => Promise<boolean> = async () => false;

  constructor(private readonly state: StateStore, private readonly notes: Notes | undefined, private readonly logger: Logger, private readonly timeoutMs: number) {}

  /** How a query reaches the bot's sessions on this instance (false: none here). */
  deliverWith(deliver: (query: CallbackQuery) => Promise<boolean>): void {
    this.#deliver = deliver;
  }

  /** Follows the other instances' queries and answers; undefined without notes (one instance). */
  follow(): Stoppable | undefined {
    return this.notes?.subscribe(CALLBACK_CHANNEL, (raw) => {
      this.#onNote(raw).catch((err: unknown) => this.logger.warn({ err }, 'mtproto: a callback query note from another instance failed'));
    });
  }

  /** Sends a press to the bot and waits for its answer; undefined when none came in time. */
  async ask(query: Omit<CallbackQuery, 'id'>): Promise<{ id: string; answer: CallbackAnswer | undefined }> {
    const id = (randomBytes(8).readBigUInt64BE(0) >> 1n).toString();
    const full: CallbackQuery = { id, ...query };
    await this.state.set(`cbq:${id}`, JSON.stringify(full), QUERY_TTL_MS);
    const answered = new Promise<CallbackAnswer | undefined>((resolve) => this.#waiting.set(id, { resolve }));
    const delivered = await this.#deliver(full);
    if (this.notes !== undefined) this.#tell({ kind: 'query', id });
    if (!delivered && this.notes === undefined) this.#settle(id, undefined);
    const deadline = Date.now() + this.timeoutMs;
    const poll = async (): Promise<void> => {
      while (this.#waiting.has(id) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
        const answer = await this.#answerOf(id);
        if (answer !== undefined) this.#settle(id, answer);
      }
      this.#settle(id, undefined);
    };
    void poll().catch(() => this.#settle(id, undefined));
    return { id, answer: await answered };
  }

  /**
   * The bot's answer to a query: 'ok', or 'unknown' when it is no query of this bot (never sent,
   * expired, or answered already).
   */
  async answer(botId: bigint, queryId: string, answer: CallbackAnswer): Promise<'ok' | 'unknown'> {
    const query = await this.#queryOf(queryId);
    if (query === undefined || query.bot !== String(botId)) return 'unknown';
    if (!await this.state.setIfAbsent(`cba:${queryId}`, JSON.stringify(answer), QUERY_TTL_MS)) return 'unknown';
    this.#settle(queryId, answer);
    if (this.notes !== undefined) this.#tell({ kind: 'answer', id: queryId });
    return 'ok';
  }


  #settle(id: string, answer: CallbackAnswer | undefined): void {
    const waiter = this.#waiting.get(id);
    if (waiter === undefined) return;
    this.#waiting.delete(id);
    waiter.resolve(answer);
  }

  async #onNote(raw: string): Promise<void> {
    const note = parseJsonAs(NoteSchema, raw);
    if (note === undefined) return;
    if (note.kind === 'answer') {
      if (!this.#waiting.has(note.id)) return;
      const answer = await this.#answerOf(note.id);
      if (answer !== undefined) this.#settle(note.id, answer);
      return;
    }
    const query = await this.#queryOf(note.id);
    if (query !== undefined) await this.#deliver(query);
  }

  #tell(note: z.infer<typeof NoteSchema>): void {
    this.notes?.publish(CALLBACK_CHANNEL, JSON.stringify(note)).catch((err: unknown) => {
      this.logger.warn({ err }, 'mtproto: could not tell the other instances of a callback query (the state still holds it)');
    });
  }

  async #queryOf(id: string): Promise<CallbackQuery | undefined> {
    if (!/^\d{1,20}$/.test(id)) return undefined;
    return parseJsonAs(QuerySchema, await this.state.get(`cbq:${id}`));
  }

  async #answerOf(id: string): Promise<CallbackAnswer | undefined> {
    return parseJsonAs(AnswerSchema, await this.state.get(`cba:${id}`));
  }
}
