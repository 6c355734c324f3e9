import xml, { type Element } from '@xmpp/xml';
import { NS } from '../ns.ts';

/**
 * XEP-0313 Message Archive Management, the parts the bridge uses on a room's archive: a query
 * after a stanza-id (catch-up) or from a time (looking for one of our origin-ids), paged with
 * XEP-0059 RSM, and the result messages unwrapped.
 */

export interface ArchiveQuery {
  /** Results after this archive id (exclusive). */
  after?: string;
  /** Results at or after this time (ms since the epoch). */
  start?: number;
  /** The last page (RSM `<before/>`): the newest `max` messages. */
  last?: boolean;
  max: number;
}

export function buildMamQuery(from: string, archive: string, queryId: string, q: ArchiveQuery): Element {
  const fields: Element[] = [xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NS.mam))];
  if (q.start !== undefined) fields.push(xml('field', { var: 'start' }, xml('value', {}, new Date(q.start).toISOString().replace(/\.\d{3}Z$/, 'Z'))));
  return xml('iq', { type: 'set', from, to: archive },
    xml('query', { xmlns: NS.mam, queryid: queryId },
      xml('x', { xmlns: NS.dataForms, type: 'submit' }, ...fields),
      xml('set', { xmlns: NS.rsm }, xml('max', {}, String(q.max)),
        q.after !== undefined ? xml('after', {}, q.after) : undefined,
        q.last ? xml('before') : undefined)));
}

export interface ArchivedMessage {
  /** The archive's id of the message: the room's stanza-id. */
  id: string;
  /** The message as the room sent it. */
  message: Element;
}

/** The archived message in a result message for queryId, or undefined if it is not one. */
export function unwrapResult(el: Element, queryId?: string): ArchivedMessage | undefined {
  const result = el.getChild('result', NS.mam);
  if (!result || (queryId !== undefined && result.attrs['queryid'] !== queryId)) return undefined;
  const id = result.attrs['id'];
  const message = result.getChild('forwarded', NS.forward)?.getChild('message');
  if (!id || !message) return undefined;
  return { id, message };
}

/** The query id a result message answers (to route it to its query), if it is a MAM result. */
export function resultQueryId(el: Element): string | undefined {
  return el.getChild('result', NS.mam)?.attrs['queryid'];
}

export interface PageEnd {
  complete: boolean;
  last?: string;
}

/** Reads the <fin/> of a query's iq result. */
export function parseFin(iq: Element): PageEnd {
  const fin = iq.getChild('fin', NS.mam);
  const last = fin?.getChild('set', NS.rsm)?.getChildText('last') ?? undefined;
  return { complete: fin?.attrs['complete'] === 'true', ...(last ? { last } : {}) };
}
