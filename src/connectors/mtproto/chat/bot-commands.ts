// The commands a bot account offers (bots.setBotCommands), by scope and language: what clients
// list when a person types "/" in a chat with the bot. One state key per bot
// (`botcommands:<bot id>`: a JSON object by "<scope>|<language>"), changed with compare-and-set.
// Scopes: `default`, `users` (private chats), `chats` (groups), `peer:<chat address>` (one chat).
import type { StateStore } from '../../../bus/types.ts';
import { changeJson } from './json-record.ts';

export interface BotCommand {
  readonly command: string;
  readonly description: string;
}

/** Telegram's limits: 100 commands a set, a command of 1–32 of a-z, 0-9 and _, a description of 1–256 characters. */
export const MAX_COMMANDS = 100;
export const COMMAND = /^[a-z0-9_]{1,32}$/;
export const MAX_DESCRIPTION = 256;
/** Sets (scope and language) one bot keeps at most: past it, a new set is refused. */
export const MAX_SETS = 50;

type Sets = Readonly<Record<string, readonly BotCommand[]>>;

const keyOf = (botId: bigint) => `botcommands:${botId}`;
const setKey = (scope: string, lang: string) => `${scope}|${lang}`;

export class BotCommands {
  constructor(private readonly state: StateStore) {}

  /** The commands of exactly this scope and language (none: empty). */
  async get(botId: bigint, scope: string, lang: string): Promise<readonly BotCommand[]> {
    return parseSets(await this.state.get(keyOf(botId)))[setKey(scope, lang)] ?? [];
  }

  /**
   * The commands a chat shows: the first of `scopes` (most specific first) that has a set, in
   * `lang` or else the default language.
   */
  async shown(botId: bigint, scopes: readonly string[], lang = ''): Promise<readonly BotCommand[]> {
    const sets = parseSets(await this.state.get(keyOf(botId)));
    for (const scope of scopes) {
      const found = sets[setKey(scope, lang)] ?? sets[setKey(scope, '')];
      if (found !== undefined) return found;
    }
    return [];
  }

  /** Sets (an empty list: removes) the commands of a scope and language; 'full' past MAX_SETS. */
  async set(botId: bigint, scope: string, lang: string, commands: readonly BotCommand[]): Promise<'ok' | 'full' | 'busy'> {
    let full = false;
    const written = await changeJson(this.state, keyOf(botId), parseSets, (current) => {
      const next: Record<string, readonly BotCommand[]> = { ...current };
      const key = setKey(scope, lang);
      full = commands.length > 0 && !Object.hasOwn(next, key) && Object.keys(next).length >= MAX_SETS;
      if (full) return undefined;
      if (commands.length === 0) delete next[key];
      else next[key] = commands;
      return next;
    });
    return full ? 'full' : written ? 'ok' : 'busy';
  }
}

/** A stored value as sets; a set that is not a list of commands is left out. */
function parseSets(raw: string | undefined): Sets {
  if (raw === undefined) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, readonly BotCommand[]> = Object.create(null) as Record<string, readonly BotCommand[]>;
    for (const [key, list] of Object.entries(v as Record<string, unknown>)) {
      if (!Array.isArray(list)) continue;
      const commands = list.filter((c): c is BotCommand => typeof c === 'object' && c !== null && typeof (c as BotCommand).command === 'string' && typeof (c as BotCommand).description === 'string');
      if (commands.length === list.length) out[key] = commands;
    }
    return out;
  } catch {
    return {};
  }
}
