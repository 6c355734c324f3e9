import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeServerKey } from '../connectors/mtproto/keygen.ts';
import { writeKekFile } from '../connectors/mtproto/store/kek-config.ts';
import { ExitCode, parseOptions, type Io } from './args.ts';

const DEFAULT_OUT = './data/mtproto-rsa.pem';
const KEK_FILE_NAME = 'mtproto-kek.key';

export const KEYGEN_HELP = `Usage: switchboard keygen [--out FILE] [--kek KEKFILE] [--force]

Generates the MTProto server's 2048-bit RSA key: FILE (private, mode 0600; default ${DEFAULT_OUT})
and FILE.pub (public, for client configuration), and prints the fingerprint clients pin.
Refuses to replace an existing key unless --force: a new key breaks every client that pinned the old one.

Also writes the key-encryption key that seals stored auth keys (AES-256-GCM) to KEKFILE (mode
0600; default: ${KEK_FILE_NAME} beside FILE), unless that file exists: it is never replaced, not even
with --force (stored auth keys would become unreadable). mtproto.keyEncryptionKeyFile names it
(default ./data/${KEK_FILE_NAME}); mtproto.keyEncryptionKey (from the environment) overrides it.`;

export async function keygenCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, { out: { type: 'string', short: 'o' }, kek: { type: 'string' }, force: { type: 'boolean' } });
  if (opts['help']) { io.out(KEYGEN_HELP); return ExitCode.Ok; }
  const out = resolve(typeof opts['out'] === 'string' ? opts['out'] : DEFAULT_OUT);
  const kekFile = resolve(typeof opts['kek'] === 'string' ? opts['kek'] : join(dirname(out), KEK_FILE_NAME));
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(kekFile), { recursive: true, mode: 0o700 });
  // The KEK first and independently: an install from before it existed gets one by re-running keygen.
  if (writeKekFile(kekFile)) io.out(`Key-encryption key for stored auth keys written to ${kekFile} (keep it with the RSA key; losing it loses every client's key).`);
  else io.out(`Key-encryption key ${kekFile} exists: kept.`);
  let fingerprint: string;
  try {
    fingerprint = writeServerKey(out, { overwrite: opts['force'] === true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      io.err(`${out} already exists: clients have pinned its fingerprint. Use --force to replace it anyway.`);
      return ExitCode.Failed;
    }
    throw err;
  }
  io.out(`MTProto RSA key written to ${out} (public key: ${out}.pub)`);
  io.out(`fingerprint: ${fingerprint}`);
  io.out('Set mtproto.rsaKeyFile (and mtproto.keyEncryptionKeyFile, if not the default) to these paths and mtproto.enabled: true in config.yaml.');
  return ExitCode.Ok;
}
