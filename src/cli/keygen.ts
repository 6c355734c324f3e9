import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeServerKey } from '../connectors/mtproto/keygen.ts';
import { ExitCode, parseOptions, type Io } from './args.ts';

const DEFAULT_OUT = './data/mtproto-rsa.pem';

export const KEYGEN_HELP = `Usage: switchboard keygen [--out FILE] [--force]

Generates the MTProto server's 2048-bit RSA key: FILE (private, mode 0600; default ${DEFAULT_OUT})
and FILE.pub (public, for client configuration), and prints the fingerprint clients pin.
Refuses to replace an existing key unless --force: a new key breaks every client that pinned the old one.`;

export async function keygenCommand(args: readonly string[], io: Io): Promise<ExitCode> {
  const opts = parseOptions(args, { out: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
  if (opts['help']) { io.out(KEYGEN_HELP); return ExitCode.Ok; }
  const out = resolve(typeof opts['out'] === 'string' ? opts['out'] : DEFAULT_OUT);
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
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
  io.out('Set mtproto.rsaKeyFile to this path and mtproto.enabled: true in config.yaml.');
  return ExitCode.Ok;
}
