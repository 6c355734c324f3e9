/**
 * What the media layer is configured with: the `media:` section of config.yaml once validated
 * (src/config/media-schema.ts holds the schema and the defaults; docs/media.md explains each key).
 * Plain data here, so the media layer knows nothing of config files.
 */
export interface MediaConfig {
  readonly enabled: boolean;
  /** Directory of the local store, relative to the config file. */
  readonly dir: string;
  /** Which driver keeps the files (default local). */
  readonly store?: { readonly driver: 'local' | 's3' };
  /** The s3 driver's server, bucket and credentials. */
  readonly s3?: MediaS3Config | undefined;
  /** Largest file stored (uploads, fetches), in bytes. */
  readonly maxBytes: number;
  readonly types: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly urls: {
    readonly secret?: string | undefined;
    readonly ttlSeconds: number;
    readonly basePath: string;
    readonly publicBaseUrl?: string | undefined;
  };
  readonly upload: { readonly enabled: boolean; readonly maxConcurrentPerPrincipal: number; readonly maxConcurrent: number };
  readonly fetch: {
    readonly allow: readonly string[];
    readonly maxRedirects: number;
    readonly totalTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly maxBytes?: number | undefined;
    readonly maxConcurrent: number;
  };
  readonly gc: { readonly enabled: boolean; readonly intervalSeconds: number; readonly graceSeconds: number; readonly debrisSeconds: number };
}

export interface MediaS3Config {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly forcePathStyle: boolean;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly timeoutMs: number;
  readonly listPageSize: number;
}
