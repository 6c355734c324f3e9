import { randomBytes } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import { bareJid } from './address.ts';
import type { ComponentLink } from './component-link.ts';
import type { Logger } from '../../core/logger.ts';
import { NS } from './ns.ts';
import { buildMamQuery, parseFin, resultQueryId, unwrapResult, type ArchivedMessage, type ArchiveQuery, type PageEnd } from './stanza/mam.ts';

/**
 * Reading rooms' archives (XEP-0313) over the component stream, as the relay occupant: pages of
 * results collected by query id (results come before the query's answer), only from the archive
 * that was asked.
 */

const QUERY_TIMEOUT_MS = 30_000;

export class ArchiveReader {
  private readonly collectors = new Map<string, { archive: string; max: number; messages: ArchivedMessage[] }>();

  constructor(private readonly link: ComponentLink, private readonly from: string) {}

  /** Takes a MAM result message; true if it was one (even a stray one, which is dropped). */
  onMessage(el: Element): boolean {
    const queryId = resultQueryId(el);
    if (queryId === undefined) return false;
    const c = this.collectors.get(queryId);
    if (!c || bareJid(el.attrs['from']) !== c.archive || c.messages.length >= c.max) return true;
    const r = unwrapResult(el, queryId);
    if (r) c.messages.push(r);
    return true;
  }

  /** One page of an archive. Rejects on an error answer (item-not-found for an expired `after`) or timeout. */
  async page(archive: string, q: ArchiveQuery): Promise<{ messages: ArchivedMessage[]; end: PageEnd }> {
    const queryId = randomBytes(9).toString('base64url');
    const c = { archive, max: q.max, messages: [] as ArchivedMessage[] };
    this.collectors.set(queryId, c);
    try {
      const answer = await this.link.request(buildMamQuery(this.from, archive, queryId, q), QUERY_TIMEOUT_MS);
      return { messages: c.messages, end: parseFin(answer) };
    } finally {
      this.collectors.delete(queryId);
    }
  }

  /** Whether the room says it has an archive (disco#info feature urn:xmpp:mam:2). */
  async hasArchive(room: string): Promise<boolean> {
    const info = await this.link.request(xml('iq', { type: 'get', from: this.from, to: room }, xml('query', { xmlns: NS.discoInfo })), QUERY_TIMEOUT_MS);
    return info.getChild('query', NS.discoInfo)?.getChildren('feature').some((f) => f.attrs['var'] === NS.mam) === true;
  }

  /**
   * Looks for a message with this origin-id in the room's archive from `start` on (at most
   * maxPages pages): the stanza-id of the archived copy, or undefined if it is not there.
   */
  async findOriginId(room: string, originId: string, start: number, maxPages = 20): Promise<string | undefined> {
    let after: string | undefined;
    for (let i = 0; i < maxPages; i++) {
      const { messages, end } = await this.page(room, { start, max: 100, ...(after !== undefined ? { after } : {}) });
      for (const m of messages) {
        if (m.message.getChild('origin-id', NS.sid)?.attrs['id'] === originId) return m.id;
      }
      if (end.complete || messages.length === 0 || end.last === undefined) return undefined;
      after = end.last;
    }
    return undefined;
  }
}

/**
 * Whether a linked room keeps an archive: asked once (disco#info), then remembered; a room without one is logged. Rejects when the room could not be asked.
 * (`holding`: the component stream held here, whose answers it remembers.)
 */
export function roomHasArchive(room: string, holding: { readonly archive: ArchiveReader; readonly hasArchive: Map<string, Promise<boolean>> }, logger: Logger): Promise<boolean> {
  let known = holding.hasArchive.get(room);
  if (known === undefined) {
    known = holding.archive.hasArchive(room).then((has) => {
      if (!has) logger.warn({ room }, 'linked room has no archive (XEP-0313 MAM): what is said there while the bridge is away is not bridged, and retried deliveries may double');
      return has;
    }, (err: Error) => {
      holding.hasArchive.delete(room); // ask again next time; meanwhile the caller fails (a delivery is retried)
      logger.warn({ room, err: err.message }, 'could not ask the room whether it keeps an archive');
      throw err;
    });
    holding.hasArchive.set(room, known);
  }
  return known;
}
