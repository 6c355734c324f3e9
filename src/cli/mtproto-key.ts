import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig, ConfigError } from '../config/load.ts';
import { publicKeyValues, type PublicKeyValues } from '../connectors/mtproto/key-values.ts';
import { readMtprotoRsaKey } from '../connectors/mtproto/rsa-key-file.ts';
import { ExitCode, UsageError, configPath, labelled, parseOptions, type Io } from './args.ts';

/** What the command parses (besides --help): `switchboard --help` and the README list each. */
export const MTPROTO_KEY_OPTIONS = { config: { type: 'string', short: 'c' }, key: { type: 'string', short: 'k' } } as const;

export const MTPROTO_KEY_HELP = `Usage: switchboard mtproto-key [--config FILE]
       switchboard mtproto-key --key PEMFILE

Prints the MTProto server key's public values in the forms client libraries take them: the
fingerprint (hex, and signed 64-bit decimal: gramjs files keys under it), the modulus (decimal
for gramjs, hex for @mtproto/core), the exponent, and the PKCS#1 PEM (Telethon, mtcute). The key
is mtproto.rsaKeyFile of the config, or PEMFILE (the private key or its .pub). Reads only.`;

/** The lines `keygen` and `mtproto-key` print for a key. */
export function keyValueLines(v: PublicKeyValues): string[] {
  return [
    ...labelled([
      { label: 'fingerprint (hex)', value: v.fingerprintHex },
      { label: 'fingerprint (signed decimal)', value: v.fingerprintSigned },
      { label: 'modulus (decimal)', value: v.modulusDecimal },
      { label: 'modulus (hex)', value: v.modulusHex },
      { label: 'exponent', value: `${v.exponent} (hex ${v.exponentHex})` },
    ]).map((line) => `  ${line}`),
    '  public key (PKCS#1 PEM, as in the .pub file):',
    ...v.pkcs1Pem.trimEnd().split('\n'),
    'gramjs: _serverKeys.set(\'<fingerprint, signed decimal>\', { n: bigInt(\'<modulus, decimal>\'), e: <exponent> });',
    '@mtproto/core: modulus and exponent in hex. Telethon (telethon.crypto.rsa.add_key) and mtcute (addPublicKey): the PEM.',
  ];
}

export async function mtprotoKeyCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, MTPROTO_KEY_OPTIONS);
  if (opts['help']) { io.out(MTPROTO_KEY_HELP); return ExitCode.Ok; }
  if (typeof opts['key'] === 'string' && opts['config'] !== undefined) throw new UsageError('--key or --config, not both');
  let file: string;
  let pem: string;
  if (typeof opts['key'] === 'string') {
    file = resolve(opts['key']);
    try {
      pem = await readFile(file, 'utf8');
    } catch (err) {
      io.err(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return ExitCode.Failed;
    }
  } else {
    const loaded = await loadConfig(configPath(opts['config']));
    // The same reading and checks as `check` and `start` (a 2048-bit RSA key); a problem names the config line.
    const read = await readMtprotoRsaKey(loaded);
    if (!read.ok) throw new ConfigError([read.issue]);
    file = read.file;
    pem = read.key.publicKeyPem;
  }
  let values: PublicKeyValues;
  try {
    values = publicKeyValues(pem);
  } catch (err) {
    io.err(`${file} is not an RSA key: ${(err as Error).message}`);
    return ExitCode.Failed;
  }
  if (values.modulusHex.length !== 512) {
    io.err(`${file}: MTProto needs a 2048-bit RSA key (this one has ${values.modulusHex.length * 4} bits)`);
    return ExitCode.Failed;
  }
  io.out(`MTProto server key ${file}`);
  for (const line of keyValueLines(values)) io.out(line);
  return ExitCode.Ok;
}
