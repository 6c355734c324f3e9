import { mkdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeServerKey } from '../connectors/mtproto/keygen.ts';
import { writeKekFile } from '../connectors/mtproto/store/kek-config.ts';
import { publicKeyValues } from '../connectors/mtproto/key-values.ts';
import { keyValueLines } from './mtproto-key.ts';
import { ExitCode, UsageError, parseOptions, type Io } from './args.ts';

const DEFAULT_OUT = './data/mtproto-rsa.pem';
const KEK_FILE_NAME = 'mtproto-kek.key';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const KEYGEN_OPTIONS = { out: { type: 'string', short: 'o' }, kek: { type: 'string' }, force: { type: 'boolean' }, 'kek-only': { type: 'boolean' } } as const;

export const KEYGEN_HELP = `Usage: switchboard keygen [--out FILE] [--kek KEKFILE] [--force]
       switchboard keygen --kek-only [--out FILE] [--kek KEKFILE]

Generates the MTProto server's 2048-bit RSA key: FILE (private, mode 0600; default ${DEFAULT_OUT})
and FILE.pub (public, for client configuration), and prints what clients pin: the fingerprint
(hex and signed decimal), modulus, exponent and PEM (as switchboard mtproto-key does).
Refuses to replace an existing key unless --force: a new key breaks every client that pinned the old one.
A refusal writes nothing at all.

Also writes the key-encryption key that seals stored auth keys (AES-256-GCM) to KEKFILE (mode
0600; default: ${KEK_FILE_NAME} beside FILE), unless that file exists: it is never replaced, not even
with --force (stored auth keys would become unreadable). mtproto.keyEncryptionKeyFile names it
(default ./data/${KEK_FILE_NAME}); mtproto.keyEncryptionKey (from the environment) overrides it.
--kek-only writes only that file (an install whose RSA key predates it), and leaves the RSA key alone.`;

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function writeKek(kekFile: string, io: Io): void {
  mkdirSync(dirname(kekFile), { recursive: true, mode: 0o700 });
  if (writeKekFile(kekFile)) io.out(`Key-encryption key for stored auth keys written to ${kekFile} (keep it with the RSA key; losing it loses every client's key).`);
  else io.out(`Key-encryption key ${kekFile} exists: kept.`);
}

export async function keygenCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, KEYGEN_OPTIONS);
  if (opts['help']) { io.out(KEYGEN_HELP); return ExitCode.Ok; }
  const out = resolve(typeof opts['out'] === 'string' ? opts['out'] : DEFAULT_OUT);
  const kekFile = resolve(typeof opts['kek'] === 'string' ? opts['kek'] : join(dirname(out), KEK_FILE_NAME));
  const force = opts['force'] === true;

  // Every refusal comes before anything is written: bad input changes nothing (no KEK, no directory).
  if (kekFile === out || kekFile === `${out}.pub`) throw new UsageError('--kek must name another file than the RSA key and its .pub');
  const kekStat = statOf(kekFile);
  if (kekStat !== undefined && !kekStat.isFile()) {
    io.err(`${kekFile} exists and is not a file: nothing was written.`);
    return ExitCode.Failed;
  }
  if (opts['kek-only'] === true) {
    if (force) throw new UsageError('--force replaces the RSA key, which --kek-only leaves alone');
    writeKek(kekFile, io);
    return ExitCode.Ok;
  }
  for (const path of [out, `${out}.pub`]) {
    const stat = statOf(path);
    if (stat !== undefined && !stat.isFile()) {
      io.err(`${path} exists and is not a file: nothing was written.`);
      return ExitCode.Failed;
    }
  }
  if (!force && statOf(out) !== undefined) {
    io.err(`${out} already exists: clients have pinned its fingerprint. Use --force to replace it anyway. Nothing was written${kekStat === undefined ? ` (for only the key-encryption key: switchboard keygen --kek-only --kek ${kekFile})` : ''}.`);
    return ExitCode.Failed;
  }

  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  try {
    writeServerKey(out, { overwrite: force });
  } catch (err) {
    // Created between the check above and now (another keygen): still refused.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      io.err(`${out} already exists: clients have pinned its fingerprint. Use --force to replace it anyway.`);
      return ExitCode.Failed;
    }
    throw err;
  }
  writeKek(kekFile, io);
  io.out(`MTProto RSA key written to ${out} (public key: ${out}.pub); what clients need (again: switchboard mtproto-key --key ${out}.pub):`);
  for (const line of keyValueLines(publicKeyValues(readFileSync(`${out}.pub`, 'utf8')))) io.out(line);
  io.out('Set mtproto.rsaKeyFile (and mtproto.keyEncryptionKeyFile, if not the default) to these paths and mtproto.enabled: true in config.yaml.');
  return ExitCode.Ok;
}
