// A bridged group's description (chatFull.about) is its room's topic: the canonical `topic` sets
// it, and a moderator account's messages.editChatAbout publishes one (methods/group-about.ts).
// Only the writer (outbound.ts) stores it, in bus order, so every MTProto group of a room ends
// with the room's last topic whichever network set it; the state key `about:<chat>` (JSON, so
// that a cleared topic, '', is told apart from none) keeps it across restarts and instances.
// A group newly linked to a room that has a topic (../../room-topics.ts: the room's last, from
// any network) shows it until the next one is written here; a group whose room never had a topic
// shows the bridge's default text.
import { z } from 'zod';
import type { StateStore } from '../../../bus/types.ts';
import type { RoomTopics, TopicEvent } from '../../room-topics.ts';
import type { ChatInfo } from './directory.ts';
import { parseJsonAs } from './json-record.ts';

/** Longest description a client may set (Telegram's limit for a group's about), in characters. */
export const MAX_ABOUT_CHARS = 255;

const aboutKey = (chat: ChatInfo): string => `about:${chat.address}`;

/** What is stored: the text, and the topic event that set it (a re-delivery is recognised by it). */
const StoredAboutSchema = z.object({ text: z.string(), ev: z.string() }).strict();
type StoredAbout = z.infer<typeof StoredAboutSchema>;

/** The description of a group whose room never had a topic. */
export function defaultAbout(chat: ChatInfo): string {
  return `Bridged room "${chat.room}" (Switchboard)`;
}

/** A wait for a topic event to be applied here (GroupAbouts.expect). */
export interface AboutWait {
  /** True once applied; false when `timeoutMs` passed first (or the wait was cancelled). */
  readonly done: Promise<boolean>;
  cancel(): void;
}

export class GroupAbouts {
  /** Calls waiting for their topic event to come back from the bus, by event id. */
  readonly #waiting = new Map<string, (applied: boolean) => void>();

  constructor(private readonly state: StateStore, private readonly roomTopics: RoomTopics) {}

  /**
   * The group's description now: its room's last topic (written here, else the room's own record
   * when `shown` says the router would have delivered it here: a send-only group gets nothing of
   * the other networks, their topics neither, and no group gets a topic a room's `ignore:` rules
   * kept back), else the default.
   */
  async of(chat: ChatInfo, shown: (topic: TopicEvent) => boolean = () => true): Promise<string> {
    const stored = await this.#stored(chat);
    if (stored !== undefined) return stored.text;
    const topic = await this.roomTopics.of(chat.room);
    return (topic !== undefined && shown(topic) ? topic.text : undefined) ?? defaultAbout(chat);
  }

  /** Resolves when the room-topic records queued here are written (shutdown: before the bus closes). */
  idle(): Promise<void> {
    return this.roomTopics.idle();
  }

  /** A topic an account here published (the bus took it): the room's current topic, for every network. */
  published(event: TopicEvent): void {
    this.roomTopics.record(event);
  }

  /**
   * The writer's: the topic event `ev` sets the group's description. True when it is the event
   * that set the text shown now (just written, or written by an earlier attempt at the same
   * batch): members are to be told. False when the text was already that: nothing is written.
   */
  async apply(chat: ChatInfo, text: string, ev: string): Promise<boolean> {
    const stored = await this.#stored(chat);
    if (stored?.ev === ev) return true;
    // Against what was written here (not the room's record, which already holds this very topic
    // once its publisher wrote it): members are told of every change this group saw.
    if ((stored?.text ?? defaultAbout(chat)) === text) return false;
    const next: StoredAbout = { text, ev };
    await this.state.set(aboutKey(chat), JSON.stringify(next));
    return true;
  }

  /** Whether `ev` set the description shown now (an instance told of another's write asks this). */
  async isCurrent(chat: ChatInfo, ev: string): Promise<boolean> {
    return (await this.#stored(chat))?.ev === ev;
  }

  /**
   * Starts waiting for the topic event `ev` to be applied here (by the writer, or read after
   * another instance's write): set up before the event is published, so that a delivery made
   * within the publish is not missed.
   */
  expect(ev: string, timeoutMs: number): AboutWait {
    let finish: (applied: boolean) => void = () => undefined;
    const done = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      finish = (applied) => {
        clearTimeout(timer);
        if (this.#waiting.get(ev) === finish) this.#waiting.delete(ev);
        resolve(applied);
      };
    });
    this.#waiting.set(ev, finish);
    return { done, cancel: () => finish(false) };
  }

  /** The topic event `ev` was applied: a call waiting for it answers. */
  applied(ev: string): void {
    this.#waiting.get(ev)?.(true);
  }

  async #stored(chat: ChatInfo): Promise<StoredAbout | undefined> {
    return parseJsonAs(StoredAboutSchema, await this.state.get(aboutKey(chat)));
  }
}
