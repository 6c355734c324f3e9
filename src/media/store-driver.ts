import { join } from 'node:path';
import type { MediaConfig } from './config.ts';
import { LocalMediaStore } from './local-store.ts';
import { S3MediaStore } from './s3-store.ts';
import type { MediaStore } from './store.ts';

/**
 * The store `media.store.driver` names: the local directory (default) or an S3-compatible
 * bucket, which spools puts to `<dir>/spool`. `dir` is already resolved against the config file.
 */
export async function openConfiguredStore(config: MediaConfig, dir: string): Promise<{ readonly store: MediaStore; close(): void }> {
  if (config.store?.driver !== 's3') {
    return { store: await LocalMediaStore.open({ dir, maxBytes: config.maxBytes, types: config.types }), close: () => undefined };
  }
  const s3 = config.s3;
  if (!s3) throw new Error('media.store.driver is s3 but media.s3 is not set');
  const store = await S3MediaStore.open({
    s3: {
      endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, forcePathStyle: s3.forcePathStyle,
      accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, timeoutMs: s3.timeoutMs,
    },
    prefix: s3.prefix,
    spoolDir: join(dir, 'spool'),
    maxBytes: config.maxBytes,
    types: config.types,
    listPageSize: s3.listPageSize,
  });
  return { store, close: () => store.close() };
}
