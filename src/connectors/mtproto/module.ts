import type { ConfigIssue } from '../../config/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { ConnectorModule } from '../connector.ts';
import { lineAt } from '../../config/yaml-file.ts';
// Light (no connector code): the reload check runs it synchronously.
import { chatIdOf } from './chat/directory.ts';

/**
 * The key-encryption key: its sources read and parsed (kek-config.ts); with the memory driver,
 * also the state file's key-check marker opened under it (read only), so a wrong or missing KEK
 * is reported here rather than by the next start. With Redis the marker is checked at start:
 * `check` opens no network connection.
 */
async function checkKeyEncryptionKey(loaded: LoadedConfig): Promise<ConfigIssue[]> {
  const { readKeyRing } = await import('./store/kek-config.ts');
  const kek = readKeyRing(loaded);
  if (!kek.ok) return kek.issues;
  if (loaded.config.bus.driver !== 'memory') return [];
  const { resolveFromConfig } = await import('../../config/load.ts');
  const { readStateFileKey } = await import('./store/state-file-reader.ts');
  const { openKekMarker, KEK_CHECK_KEY, KeyRingMismatch } = await import('./store/open-stores.ts');
  const { STATE_NAMESPACE } = await import('./chat/state-namespace.ts');
  const { lineAt } = await import('../../config/yaml-file.ts');
  const stateFile = resolveFromConfig(loaded, loaded.config.bus.stateFile);
  const path = kek.source === 'config' ? ['mtproto', 'keyEncryptionKey'] : ['mtproto', 'keyEncryptionKeyFile'];
  const at = { file: loaded.configFile, line: loaded.configSource ? lineAt(loaded.configSource, path) : 0, path: path.join('.') };
  let marker: string | undefined;
  try {
    marker = await readStateFileKey(stateFile, `${STATE_NAMESPACE}:${KEK_CHECK_KEY}`);
  } catch (err) {
    return [{ ...at, message: `cannot read the state file ${stateFile} to check the key-encryption key against it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }];
  }
  if (marker === undefined) return []; // nothing stored yet: any KEK will do
  try {
    openKekMarker(kek.ring, marker);
  } catch (err) {
    if (err instanceof KeyRingMismatch) return [{ ...at, message: `${err.message} (state file ${stateFile})` }];
    throw err;
  }
  return [];
}

/** What `switchboard check` verifies for MTProto beyond the schema and bridges/: the key files. */
async function checkMtproto(loaded: LoadedConfig): Promise<ConfigIssue[]> {
  const { readMtprotoRsaKey } = await import('./rsa-key-file.ts');
  const issues: ConfigIssue[] = [];
  const key = await readMtprotoRsaKey(loaded);
  if (!key.ok) issues.push(key.issue);
  issues.push(...await checkKeyEncryptionKey(loaded));
  return issues;
}

/** The MTProto endpoints are chat ids; the rooms each account names are declared (also at every bridges/ reload). */
function checkMtprotoReloadable(loaded: LoadedConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const bridge of loaded.bridges) {
    bridge.endpoints.forEach((e, i) => {
      if (e.connector === 'mtproto' && chatIdOf(e.address) === undefined) {
        issues.push({ file: bridge.source, line: bridge.endpointLines?.[i] ?? 0, path: `endpoints.${i}.mtproto`, message: `"${e.address}" is not an MTProto chat id: a number from 1 to 999999999999` });
      }
    });
  }
  const rooms = new Set(loaded.bridges.map((b) => b.room));
  loaded.config.mtproto.accounts.forEach((account, i) => {
    account.rooms.forEach((room, r) => {
      if (room === '*' || rooms.has(room)) return;
      const path = ['mtproto', 'accounts', i, 'rooms', r];
      issues.push({ file: loaded.configFile, line: loaded.configSource ? lineAt(loaded.configSource, path) : 0, path: path.join('.'), message: `no bridge declares room "${room}"` });
    });
  });
  return issues;
}

export const mtprotoModule: ConnectorModule = {
  network: 'mtproto',
  enabled: (config) => config.mtproto.enabled,
  check: checkMtproto,
  checkReloadable: checkMtprotoReloadable,
  async create(loaded) {
    const { MtprotoConnector } = await import('./connector.ts');
    return new MtprotoConnector(loaded);
  },
};
