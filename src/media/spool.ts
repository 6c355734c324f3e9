import { open, unlink } from 'node:fs/promises';
import { finished, Readable } from 'node:stream';
import { MediaError, MediaErrorCode, isMediaError } from './errors.ts';
import { IngestSink } from './ingest-sink.ts';
import { mediaIdOf, type MediaId } from './media-id.ts';
import type { TypePolicy } from './type-policy.ts';

export interface SpoolOptions {
  /** The temp file to create (exclusively); removed again when the put fails. */
  readonly path: string;
  readonly maxBytes: number;
  readonly declaredMime: string | undefined;
  readonly declaredSize: number | undefined;
  readonly typePolicy: TypePolicy;
}

/** What a finished spool file holds: its content id, size and the type decided for it. */
export interface Spooled {
  readonly id: MediaId;
  readonly size: number;
  readonly mime: string;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => { if (errno(err) !== 'ENOENT') throw err; });
}

/** Which side of a put failed, and with what. */
class IngestFailure extends Error {
  constructor(readonly where: 'source' | 'store', override readonly cause: unknown) {
    super(`${where} failed`);
  }
}

/**
 * Pipes `input` into `sink` until the sink has finished (fsynced). On failure it unpipes and
 * destroys the sink but leaves `input` alone: the caller owns its source, and an HTTP request
 * destroyed here would take its socket, and the 413 the route still has to send, with it.
 */
async function ingest(input: Readable, sink: IngestSink): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let stopWatching = (): void => undefined;
    const settle = (failure?: IngestFailure) => {
      if (settled) return;
      settled = true;
      stopWatching();
      if (!failure) {
        resolve();
        return;
      }
      input.unpipe(sink);
      // A source we stop reading may still fail later (the client resets): that must not become
      // an unhandled 'error' event.
      input.on('error', () => undefined);
      sink.destroy();
      reject(failure);
    };
    stopWatching = finished(input, { writable: false }, (err) => {
      if (err) settle(new IngestFailure('source', err));
    });
    sink.once('error', (err) => settle(new IngestFailure('store', err)));
    sink.once('finish', () => settle());
    input.pipe(sink);
  });
}

/**
 * Streams `source` through an IngestSink (limit, hash, type policy, fsync) into a new file at
 * `options.path`. On any failure the file is removed and a MediaError (too_large,
 * unsupported_type, size_mismatch, aborted) or the disk's own error is thrown: a failed spool
 * leaves nothing. A Readable source is the caller's and is left undestroyed; an iterable one is
 * ours and is stopped. Both drivers put through this one function, so they enforce the limits
 * identically.
 */
export async function spoolToFile(source: Readable | AsyncIterable<Uint8Array>, options: SpoolOptions): Promise<Spooled> {
  const fh = await open(options.path, 'wx', 0o600);
  const sink = new IngestSink({
    file: fh,
    maxBytes: options.maxBytes,
    declaredMime: options.declaredMime,
    declaredSize: options.declaredSize,
    typePolicy: options.typePolicy,
  });
  const owned = !(source instanceof Readable);
  const input = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
  try {
    await ingest(input, sink);
    await fh.close();
    return { id: mediaIdOf(sink.digest()), size: sink.size, mime: sink.mime };
  } catch (failure) {
    if (owned) input.destroy();
    await fh.close().catch(() => undefined);
    await removeQuietly(options.path);
    if (!(failure instanceof IngestFailure)) throw failure;
    if (failure.where === 'store' || isMediaError(failure.cause)) throw failure.cause;
    // The source failed (client gone, remote fetch cut off): "aborted"; a disk error is not.
    throw new MediaError(MediaErrorCode.Aborted, 'the source failed before the file was complete', { cause: failure.cause });
  }
}
