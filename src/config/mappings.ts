import { basename } from 'node:path';
import { canonicalParty } from '../core/direct.ts';
import type { ConfigIssue } from './errors.ts';
import type { Env } from './env.ts';
import { yamlFilesIn } from './bridges.ts';
import { lineAt, readYamlFile, validateWith } from './yaml-file.ts';
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
      const checked = validateWith(IdentitiesFileSchema, parsed.value, parsed.source);
      if (!checked.ok) { issues.push(...checked.issues); continue; }
      identities = checked.data.identities;
      displayNames = checked.data.displayNames;
      // One account can only be one person, and a canonical id names one person.
      const seen = new Map<string, number>();
      identities.forEach((identity, i) => {
        // Accounts as the bridge compares them (an XMPP JID in any case is one account): a
        // spelling that differs only in case must not let a second identity take the account over.
        const keys = [`canonical:${identity.canonical}`,
          ...(['websocket', 'xmpp', 'mtproto'] as const).flatMap((net) => {
            const id = identity[net];
            return id !== undefined ? [`${net}:${canonicalParty({ network: net, id }).id}`] : [];
          })];
        for (const key of keys) {
          const earlier = seen.get(key);
          const field = key.slice(0, key.indexOf(':'));
          if (earlier !== undefined) {
            issues.push({ file, line: lineAt(parsed.source, ['identities', i, field]), path: `identities.${i}.${field}`,
              message: `${key} already appears in identities.${earlier} (line ${lineAt(parsed.source, ['identities', earlier])})` });
          } else {
            seen.set(key, i);
          }
        }
      });
    } else {
      const checked = validateWith(PresenceFileSchema, parsed.value, parsed.source);
      if (!checked.ok) { issues.push(...checked.issues); continue; }
      presence = checked.data;
    }
  }
  return { mappings: { identities, displayNames, presence }, issues };
}
