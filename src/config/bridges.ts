import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { BridgeFileSchema, type BridgeFile } from './schema.ts';
import { endpointKey, type Bridge, type LinkedEndpoint } from '../core/endpoint.ts';
import { patternProblem, type IgnoreRules } from '../core/ignore.ts';
import { displayFile, type ConfigIssue } from './errors.ts';
import type { Env } from './env.ts';
import { lineAt, readYamlFile, validateWith, type YamlSource } from './yaml-file.ts';

const ROOM_FROM_FILE = /^[\w.-]+$/;

function isYaml(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** Lists the YAML files of a folder, sorted so load order (and error order) is stable. */
export async function yamlFilesIn(dir: string): Promise<string[] | undefined> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isFile() && isYaml(d.name) && !d.name.startsWith('.'))
      .map((d) => join(dir, d.name))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function toEndpoint(entry: BridgeFile['endpoints'][number]): LinkedEndpoint {
  const direction = entry.direction === undefined || entry.direction === 'both' ? {} : { direction: entry.direction };
  if (entry.websocket !== undefined) return { connector: 'websocket', address: entry.websocket, ...direction };
  if (entry.xmpp !== undefined) return { connector: 'xmpp', address: entry.xmpp, ...direction };
  if (entry.mtproto !== undefined) return { connector: 'mtproto', address: entry.mtproto, ...direction };
  throw new Error('unreachable: the schema requires exactly one network per endpoint');
}

interface Located<T> { readonly value: T; readonly file: string; readonly line: number }

/**
 * Loads every bridge file of `dir`. Checks across files what the Router would also refuse
 * (a room declared twice, an endpoint linked twice), but names both files and lines.
 */
export async function loadBridges(dir: string, env: Env): Promise<{ bridges: Bridge[]; issues: ConfigIssue[] }> {
  const files = await yamlFilesIn(dir);
  if (files === undefined) {
    return { bridges: [], issues: [{ file: dir, line: 0, path: '', message: 'bridges folder does not exist (bridgesDir)' }] };
  }
  const issues: ConfigIssue[] = [];
  const bridges: Bridge[] = [];
  const rooms = new Map<string, Located<string>>();
  const endpoints = new Map<string, Located<string>>();

  for (const file of files) {
    const parsed = await readYamlFile(file, env);
    if (!parsed.ok) { issues.push(...parsed.issues); continue; }
    const checked = validateWith(BridgeFileSchema, parsed.value, parsed.source);
    if (!checked.ok) { issues.push(...checked.issues); continue; }
    const bridge = toBridge(file, checked.data, parsed.source, issues);
    if (!bridge) continue;

    const roomLine = checked.data.room !== undefined ? lineAt(parsed.source, ['room']) : 1;
    const earlierRoom = rooms.get(bridge.room);
    if (earlierRoom) {
      issues.push({ file, line: roomLine, path: 'room', message: `room "${bridge.room}" is already declared in ${displayFile(earlierRoom.file)}:${earlierRoom.line}` });
      continue;
    }
    rooms.set(bridge.room, { value: bridge.room, file, line: roomLine });

    let clash = false;
    bridge.endpoints.forEach((ep, i) => {
      const key = endpointKey(ep);
      const line = lineAt(parsed.source, ['endpoints', i]);
      const earlier = endpoints.get(key);
      if (earlier) {
        clash = true;
        const where = earlier.file === file ? `line ${earlier.line}` : `${displayFile(earlier.file)}:${earlier.line}`;
        issues.push({ file, line, path: `endpoints.${i}.${ep.connector}`, message: `${key} is already linked (room "${earlier.value}", ${where}); an endpoint belongs to one room` });
        return;
      }
      endpoints.set(key, { value: bridge.room, file, line });
    });
    if (!clash) bridges.push(bridge);
  }
  return { bridges, issues };
}

function toBridge(file: string, data: BridgeFile, source: YamlSource, issues: ConfigIssue[]): Bridge | undefined {
  const fromName = basename(file, extname(file));
  if (data.room === undefined && !ROOM_FROM_FILE.test(fromName)) {
    issues.push({ file, line: lineAt(source, []), path: 'room', message: `the file name "${fromName}" is not a valid room key (letters, digits, _ . -): rename the file or set room:` });
    return undefined;
  }
  const ignore = data.ignore === undefined ? undefined : checkedIgnoreRules(file, data.ignore, source, issues);
  if (ignore === null) return undefined;
  return {
    room: data.room ?? fromName, endpoints: data.endpoints.map(toEndpoint), source: file,
    endpointLines: data.endpoints.map((_, i) => lineAt(source, ['endpoints', i])),
    ...(ignore === undefined ? {} : { ignore, ignoreSenderLines: ignore.senders.map((_, i) => lineAt(source, ['ignore', 'senders', i])) }),
  };
}

/** The accounts an `ignore:` sender can name here: WS token names, MTProto account ids (any XMPP address can write in a room). */
export interface KnownSenders {
  readonly websocket: ReadonlySet<string>;
  readonly mtproto: ReadonlySet<string>;
}

/**
 * `ignore:` senders that name no WS token or MTProto account of this config: valid (the token may
 * be added later), but such a rule matches nothing, most likely a typo. start logs these and
 * `check` prints them. `where(i)`: where sender i is written.
 */
export function unknownSenderWarnings(rules: IgnoreRules, known: KnownSenders, where: (i: number) => { file: string; line: number; path: string }): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  rules.senders.forEach((sender, i) => {
    if (sender.network === 'websocket' && !known.websocket.has(sender.id)) {
      warnings.push({ ...where(i), message: `no WS token is named "${sender.id}": this ignore rule matches nothing` });
    } else if (sender.network === 'mtproto' && !known.mtproto.has(sender.id)) {
      warnings.push({ ...where(i), message: `no MTProto account has the id ${sender.id}: this ignore rule matches nothing` });
    }
  });
  return warnings;
}

type IgnoreData = NonNullable<BridgeFile['ignore']>;

/** A file's `ignore:` (a bridge file's or config.yaml's), its patterns compiled once to check them; null (with issues) when one does not compile. */
export function checkedIgnoreRules(file: string, data: IgnoreData, source: YamlSource, issues: ConfigIssue[]): IgnoreRules | null {
  let ok = true;
  (data.messages ?? []).forEach((pattern, i) => {
    const problem = patternProblem(pattern);
    if (problem === undefined) return;
    ok = false;
    issues.push({ file, line: lineAt(source, ['ignore', 'messages', i]), path: `ignore.messages.${i}`, message: `not an RE2 pattern (${problem})` });
  });
  return ok ? ignoreRulesOf(data) : null;
}

/** `ignore:` as the router takes it (its patterns already checked). */
export function ignoreRulesOf(data: IgnoreData): IgnoreRules {
  const senders = (data.senders ?? []).map((s) => (
    s.websocket !== undefined ? { network: 'websocket', id: s.websocket }
      : s.xmpp !== undefined ? { network: 'xmpp', id: s.xmpp }
        : { network: 'mtproto', id: s.mtproto! }
  ));
  return { senders, messages: data.messages ?? [] };
}

/**
 * config.yaml's `ignore:` (rules for every room) put before each room's own: what the router
 * gets for every bridged room. Applied by loadConfig and by a bridges/ reload (with the
 * config.yaml in force), so the two never differ.
 */
export function withSharedIgnore(bridges: readonly Bridge[], rules: IgnoreRules | undefined): Bridge[] {
  if (rules === undefined || rules.senders.length + rules.messages.length === 0) return [...bridges];
  return bridges.map((b) => ({
    ...b,
    ignore: { senders: [...rules.senders, ...(b.ignore?.senders ?? [])], messages: [...rules.messages, ...(b.ignore?.messages ?? [])] },
  }));
}

/** config.yaml's `ignore:` as rules (its senders also keep their direct chats: Router's directIgnore), or undefined. */
export function sharedIgnoreOf(config: { readonly ignore?: IgnoreData | undefined }): IgnoreRules | undefined {
  return config.ignore === undefined ? undefined : ignoreRulesOf(config.ignore);
}

/**
 * Rooms their directions leave with nothing to carry: valid (bots may still read the stream, and
 * a reload may turn an endpoint around), but most likely a mistake: start logs these and `check`
 * prints them as warnings.
 */
export function directionWarnings(bridges: readonly Bridge[]): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  for (const bridge of bridges) {
    const directions = bridge.endpoints.map((e) => e.direction ?? 'both');
    if (directions.length < 2 || directions.includes('both')) continue;
    const where = { file: bridge.source, line: bridge.endpointLines?.[0] ?? 1, path: 'endpoints' };
    if (directions.every((d) => d === 'receive-only')) warnings.push({ ...where, message: `room "${bridge.room}": every endpoint is receive-only, so nothing said on any network enters it` });
    else if (directions.every((d) => d === 'send-only')) warnings.push({ ...where, message: `room "${bridge.room}": every endpoint is send-only, so nothing said reaches another network` });
  }
  return warnings;
}
