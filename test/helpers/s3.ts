import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killNow, track } from './children.ts';
import { fileURLToPath } from 'node:url';

/**
 * A real S3-compatible server in its own process: @20minutes/s3rver (a maintained fork of s3rver
 * that verifies AWS Signature V4, which s3rver 3.x does not) storing objects in a temp dir.
 */
export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  readonly bucket: string;
  /** The server's one account (s3rver's built-in key pair). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Where the server keeps its objects (tests check that nothing is left behind). */
  readonly dataDir: string;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./s3-server-main.cjs', import.meta.url));


function requireServerPackage(): void {
  try {
    createRequire(import.meta.url).resolve('@20minutes/s3rver');
  } catch {
    throw new Error('the S3 test server is not installed: run `npm ci` (devDependency @20minutes/s3rver)');
  }
}

/** Starts the server on a free loopback port with a fresh bucket; waits until it listens. */
export async function startS3Server(options: { readonly bucket?: string; readonly allowMismatchedSignatures?: boolean } = {}): Promise<S3Server> {
  const bucket = options.bucket ?? 'switchboard-media';
  requireServerPackage();
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-s3-'));
  // s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which OpenSSL 3 (Node 18+) only
  // offers in its legacy provider: without it, the second page of a listing is a 500.
  const args = ['--openssl-legacy-provider', MAIN, dataDir, bucket, ...(options.allowMismatchedSignatures ? ['--allow-mismatched-signatures'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the S3 test server did not start within 15 s\n${stderr}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`unexpected output of the S3 test server: ${line}`));
        }
      }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the S3 test server exited (${code}) before listening\n${stderr}`)); });
  }).catch(async (err: unknown) => {
    await killNow(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  const pid = child.pid ?? -1;
  return {
    endpoint: `http://127.0.0.1:${port}`, port, pid, bucket, dataDir,
    accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER',
    async stop() {
      await killNow(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
