import { chmodSync, writeFileSync } from 'node:fs';
import { generateServerRsaKey, loadServerRsaKey } from './crypto/rsa.ts';

export interface WriteServerKeyOptions {
  /** Replace an existing file; off by default so a keygen never silently rotates the pinned key. */
  overwrite?: boolean;
}

/**
 * Generates the server's RSA key and writes its private PEM with mode 0600 (it decrypts every
 * handshake), plus the public PEM beside it as `<path>.pub` for client configuration. Returns the
 * fingerprint clients pin, as 16 hex digits.
 */
export function writeServerKey(path: string, opts: WriteServerKeyOptions = {}): string {
  const { privateKeyPem, publicKeyPem } = generateServerRsaKey();
  const flag = opts.overwrite === true ? 'w' : 'wx';
  writeFileSync(path, privateKeyPem, { mode: 0o600, flag });
  // mode only applies when the file is created; enforce it when overwriting too.
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pub`, publicKeyPem, { mode: 0o644, flag: 'w' });
  return loadServerRsaKey(privateKeyPem).fingerprintHex;
}
