import { readFile } from 'node:fs/promises';
import { loadServerRsaKey, type ServerRsaKey } from './crypto/rsa.ts';
import type { ConfigIssue } from '../../config/errors.ts';
import { lineAt } from '../../config/yaml-file.ts';
import { resolveFromConfig, type LoadedConfig } from '../../config/load.ts';

export type RsaKeyResult = { ok: true; key: ServerRsaKey; file: string } | { ok: false; issue: ConfigIssue };

/** Reads and checks mtproto.rsaKeyFile (relative to the config file); a problem names the config line. */
export async function readMtprotoRsaKey(loaded: LoadedConfig): Promise<RsaKeyResult> {
  const file = resolveFromConfig(loaded, loaded.config.mtproto.rsaKeyFile);
  const at = { file: loaded.configFile, line: loaded.configSource ? lineAt(loaded.configSource, ['mtproto', 'rsaKeyFile']) : 0, path: 'mtproto.rsaKeyFile' };
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { ok: false, issue: { ...at, message: `cannot read ${file} (${code}): make one with \`switchboard keygen --out ${loaded.config.mtproto.rsaKeyFile}\`` } };
  }
  try {
    return { ok: true, key: loadServerRsaKey(pem), file };
  } catch (err) {
    return { ok: false, issue: { ...at, message: `${file} is not a usable MTProto key: ${(err as Error).message}` } };
  }
}
