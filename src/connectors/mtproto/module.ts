import type { ConfigIssue } from '../../config/errors.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { ConnectorModule } from '../connector.ts';

/** What `switchboard check` verifies for MTProto beyond the schema: the key file, chat ids, account rooms. */
async function checkMtproto(loaded: LoadedConfig): Promise<ConfigIssue[]> {
  const { readMtprotoRsaKey } = await import('./rsa-key-file.ts');
  const { chatIdOf } = await import('./chat/directory.ts');
  const { lineAt } = await import('../../config/yaml-file.ts');
  const issues: ConfigIssue[] = [];
  const key = await readMtprotoRsaKey(loaded);
  if (!key.ok) issues.push(key.issue);
  for (const bridge of loaded.bridges) {
    bridge.endpoints.forEach((e, i) => {
      if (e.connector === 'mtproto' && chatIdOf(e.address) === undefined) {
        issues.push({ file: bridge.source, line: 0, path: `endpoints.${i}.mtproto`, message: `"${e.address}" is not an MTProto chat id: a number from 1 to 999999999999` });
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
  async create(loaded) {
    const { MtprotoConnector } = await import('./connector.ts');
    return new MtprotoConnector(loaded);
  },
};
