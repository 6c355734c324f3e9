// Where the key-encryption key comes from: mtproto.keyEncryptionKey (the environment), else
// mtproto.keyEncryptionKeyFile if that file exists, else none (plaintext, with a warning at start).
// A problem names the config line, like the RSA key file's.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { ConfigIssue } from '../../../config/errors.ts';
import { lineAt } from '../../../config/yaml-file.ts';
import { resolveFromConfig, type LoadedConfig } from '../../../config/load.ts';
import { generateKek, KeyRing, parseKek, type KeyEncryptionKey } from './key-ring.ts';

export type KekSource = 'config' | 'file' | 'none';

export type KeyRingResult =
  | { ok: true; ring: KeyRing; source: KekSource; file: string; warnings: string[] }
  | { ok: false; issues: ConfigIssue[] };

export function readKeyRing(loaded: LoadedConfig): KeyRingResult {
  const m = loaded.config.mtproto;
  const at = (path: (string | number)[]) => ({
    file: loaded.configFile,
    line: loaded.configSource ? lineAt(loaded.configSource, path) : 0,
    path: path.join('.'),
  });
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const file = resolveFromConfig(loaded, m.keyEncryptionKeyFile);

  let current: KeyEncryptionKey | undefined;
  let source: KekSource = 'none';
  if (m.keyEncryptionKey !== undefined && m.keyEncryptionKey !== '') {
    try {
      current = parseKek(m.keyEncryptionKey);
      source = 'config';
    } catch (err) {
      issues.push({ ...at(['mtproto', 'keyEncryptionKey']), message: (err as Error).message });
    }
  } else {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') issues.push({ ...at(['mtproto', 'keyEncryptionKeyFile']), message: `cannot read ${file} (${code ?? (err as Error).message})` });
    }
    if (text !== undefined) {
      try {
        current = parseKek(text);
        source = 'file';
        if ((statSync(file).mode & 0o077) !== 0) warnings.push(`${file} is readable by other users: chmod 600 it`);
      } catch (err) {
        issues.push({ ...at(['mtproto', 'keyEncryptionKeyFile']), message: `${file}: ${(err as Error).message}` });
      }
    }
  }
  const previous: KeyEncryptionKey[] = [];
  m.previousKeyEncryptionKeys.forEach((text, i) => {
    try {
      previous.push(parseKek(text));
    } catch (err) {
      issues.push({ ...at(['mtproto', 'previousKeyEncryptionKeys', i]), message: (err as Error).message });
    }
  });
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, ring: new KeyRing(current, previous), source, file, warnings };
}

/**
 * Writes a fresh KEK to `path` (mode 0600) unless the file exists: replacing a KEK would make
 * every stored auth key unreadable, so an existing file is never touched. Returns true if written.
 */
export function writeKekFile(path: string): boolean {
  try {
    writeFileSync(path, `${generateKek()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  chmodSync(path, 0o600);
  return true;
}
