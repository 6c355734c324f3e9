import { basename } from 'node:path';
import { canonicalParty } from '../core/direct.ts';
import type { ConfigIssue } from './errors.ts';
import type { Env } from './env.ts';
import { yamlFilesIn } from './bridges.ts';
import { lineAt, readYamlFile, validateWith, type YamlSource } from './yaml-file.ts';
import { DisplayNamesSchema, IdentitiesFileSchema, MAPPING_FILES, PresenceFileSchema, type DisplayNames, type Identity, type Mappings, type PresenceMapping } from './mappings-schema.ts';

/** Loads the known tables of `dir` (a missing folder means: no mappings, all defaults). */
export async function loadMappings(dir: string, env: Env): Promise<{ mappings: Mappings; issues: ConfigIssue[] }> {
  const issues: ConfigIssue[] = [];
  let identities: Identity[] = [];
  let displayNames: DisplayNames = DisplayNamesSchema.parse({});
  let presence: PresenceMapping = PresenceFileSchema.parse({});
  const files = (await yamlFilesIn(dir)) ?? [];
  for (const file of files) {
    const name = basename(file);
    if (!(name in MAPPING_FILES)) {
      issues.push({ file, line: 0, path: '', message: `unknown mapping table (known: ${Object.keys(MAPPING_FILES).join(', ')})` });
      continue;
    }
    const parsed = await readYamlFile(file, env);
    if (!parsed.ok) { issues.push(...parsed.issues); continue; }
    if (name === 'identities.yaml') {
      // Duplicates are looked for in what was read, so a file with schema problems too reports both at once.
      const duplicates = duplicateAccounts(parsed.value, parsed.source, file);
      const checked = validateWith(IdentitiesFileSchema, parsed.value, parsed.source);
      if (!checked.ok) { issues.push(...checked.issues, ...duplicates); continue; }
      issues.push(...duplicates);
      identities = checked.data.identities;
      displayNames = checked.data.displayNames;
    } else {
      const checked = validateWith(PresenceFileSchema, parsed.value, parsed.source);
      if (!checked.ok) { issues.push(...checked.issues); continue; }
      presence = checked.data;
    }
  }
  return { mappings: { identities, displayNames, presence }, issues };
}

/**
 * One account can only be one person, and a canonical id names one person: each account or
 * canonical id that appears in a second identity, as the bridge compares accounts (an XMPP JID in
 * any case is one account: a spelling that differs only in case must not let a second identity
 * take the account over). Read from the file as parsed, before the schema: entries or fields the
 * schema refuses are skipped here (the schema reports them).
 */
function duplicateAccounts(value: unknown, source: YamlSource, file: string): ConfigIssue[] {
  const list = typeof value === 'object' && value !== null ? (value as { identities?: unknown }).identities : undefined;
  if (!Array.isArray(list)) return [];
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) return;
    const identity = entry as Record<string, unknown>;
    const keys: string[] = [];
    if (typeof identity['canonical'] === 'string') keys.push(`canonical:${identity['canonical']}`);
    for (const net of ['websocket', 'xmpp', 'mtproto'] as const) {
      const id = identity[net];
      if (typeof id === 'string' && id !== '') keys.push(`${net}:${canonicalParty({ network: net, id }).id}`);
    }
    for (const key of keys) {
      const earlier = seen.get(key);
      const field = key.slice(0, key.indexOf(':'));
      if (earlier !== undefined) {
        issues.push({ file, line: lineAt(source, ['identities', i, field]), path: `identities.${i}.${field}`,
          message: `${key} already appears in identities.${earlier} (line ${lineAt(source, ['identities', earlier])})` });
      } else {
        seen.set(key, i);
      }
    }
  });
  return issues;
}
