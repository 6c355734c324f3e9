import type { Bridge } from '../../core/endpoint.ts';
import type { ConfigIssue } from '../../config/errors.ts';
import { bareJid } from './address.ts';

/**
 * Whether an `xmpp:` endpoint of bridges/ names a MUC room as the connector keys it: a bare JID
 * with a localpart (`room@conference.example.org`), written as the server normalises it. The
 * connector keys its rooms by that exact text and matches the `from` of every stanza against it,
 * so a form the server rewrites (upper case) would never match. Pure and free of I/O: the
 * connector's start and the module's checkReloadable (`switchboard check`, start, every bridges/
 * reload) all ask it, so what one refuses the others refuse alike.
 *
 * @returns why the address is not a room JID, or undefined when it is one.
 */
export function roomJidProblem(address: string): string | undefined {
  const bare = bareJid(address);
  if (bare === undefined) return 'not a JID';
  if (!bare.includes('@')) return 'a server or service address, not a room: name the room (room@conference.example.org)';
  if (bare.toLowerCase() !== address.toLowerCase()) return 'a full JID (with a /resource): name the room\'s bare JID (room@conference.example.org)';
  if (bare !== address) return `write it as the server keeps it: "${bare}"`;
  return undefined;
}

/** Every xmpp endpoint of these bridges that is not a room JID, as config issues (`switchboard check`, a reload). */
export function roomJidIssues(bridges: readonly Bridge[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const bridge of bridges) {
    bridge.endpoints.forEach((e, i) => {
      if (e.connector !== 'xmpp') return;
      const problem = roomJidProblem(e.address);
      if (problem !== undefined) issues.push({ file: bridge.source, line: bridge.endpointLines?.[i] ?? 0, path: `endpoints.${i}.xmpp`, message: `"${e.address}" is not a room JID (room@conference.example.org): ${problem}` });
    });
  }
  return issues;
}
