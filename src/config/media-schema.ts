import { z } from 'zod';

/** Shortest URL-signing secret accepted (the media store's UrlSigner refuses shorter ones too). */
const MIN_SECRET_BYTES = 32;

const MiB = 1024 * 1024;

/** The largest object one S3 PutObject creates; the s3 driver does not use multipart uploads. */
const S3_MAX_OBJECT_BYTES = 5 * 1024 * MiB;

/**
 * `media.s3`: where the s3 driver keeps content. Keys and secret come from the environment
 * (`${SWITCHBOARD_S3_ACCESS_KEY_ID}`, `${SWITCHBOARD_S3_SECRET}`), as every secret does.
 */
const S3Schema = z.object({
  /** scheme://host[:port] of the S3-compatible server; http only for a server on a trusted network. */
  endpoint: z.string().url().refine((v) => {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && u.search === '' && u.username === '' && u.password === '';
  }, 'an http:// or https:// URL of the server alone, without path, query or credentials'),
  region: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a region name such as us-east-1').default('us-east-1'),
  /** S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens. */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3-63 lowercase letters, digits, dots and hyphens'),
  /** Prepended to every key, e.g. `switchboard/media/` to share a bucket. */
  prefix: z.string().max(512).regex(/^(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/, "letters, digits, '.', '_', '-' and '/' separators, e.g. switchboard/media/")
    .refine((v) => !v.split('/').some((part) => part === '.' || part === '..'), 'no . or .. segments').default(''),
  /** Path-style URLs (endpoint/bucket/key): what MinIO, Garage and Ceph RGW expect without wildcard DNS. */
  forcePathStyle: z.boolean().default(true),
  accessKeyId: z.string().min(1).max(256),
  secretAccessKey: z.string().min(1).max(1024),
  /** Longest silence of the server on one request (connect, answer, between body chunks). */
  timeoutMs: z.number().int().min(500).max(600_000).default(30_000),
  /** Keys per ListObjectsV2 page when the garbage collector lists the store. */
  listPageSize: z.number().int().min(1).max(1000).default(1000),
}).strict();

/**
 * The `media:` section of config.yaml (src/media/ takes it as its MediaConfig). Every size, time
 * and count has a limit with a safe default; docs/media.md explains each key.
 */
export const MediaConfigSchema = z.object({
  enabled: z.boolean().default(true),
  /**
   * Directory of the local store, relative to the config file. With the s3 driver, puts are
   * spooled to `<dir>/spool` while they are hashed and checked.
   */
  dir: z.string().min(1).default('./data/media'),
  /** Which driver keeps the files: `local` (the directory above) or `s3` (media.s3). */
  store: z.object({
    driver: z.enum(['local', 's3']).default('local'),
  }).strict().prefault({}),
  s3: S3Schema.optional(),
  /** Largest file stored (uploads, fetches), in bytes. */
  maxBytes: z.number().int().min(1024).max(16 * 1024 * MiB).default(100 * MiB),
  types: z.object({
    /** MIME patterns accepted (type/subtype, type/*, *\/*), judged on the sniffed type. */
    allow: z.array(z.string().min(3)).default(['*/*']),
    /** MIME patterns refused even when allowed. */
    deny: z.array(z.string().min(3)).default([]),
  }).strict().prefault({}),
  urls: z.object({
    /**
     * HMAC secret of the signed URLs. Give every instance the same one, from the environment
     * (`${SWITCHBOARD_MEDIA_URL_SECRET}`). Unset: a random secret per process (links stop working
     * after a restart and on other instances).
     */
    secret: z.string().min(MIN_SECRET_BYTES, `use at least ${MIN_SECRET_BYTES} characters (e.g. \`openssl rand -hex 32\`)`).optional(),
    /** How long a handed-out link stays valid, in seconds. */
    ttlSeconds: z.number().int().min(60).max(366 * 86_400).default(7 * 86_400),
    /** Path prefix of media URLs on the HTTP port. */
    basePath: z.string().regex(/^\/[\w./-]*[\w-]$/, 'a path like /media').default('/media'),
    /** Scheme, host and port clients reach this server at (behind a proxy); default: the HTTP listener's URL. */
    publicBaseUrl: z.string().url().optional(),
  }).strict().prefault({}),
  upload: z.object({
    /** POST/PUT <basePath> for authenticated clients. */
    enabled: z.boolean().default(true),
    maxConcurrentPerPrincipal: z.number().int().min(1).max(1_000).default(4),
    maxConcurrent: z.number().int().min(1).max(10_000).default(64),
  }).strict().prefault({}),
  fetch: z.object({
    /** CIDRs that remote fetches may reach although not public (e.g. an internal XMPP upload host). */
    allow: z.array(z.string().min(2)).default([]),
    maxRedirects: z.number().int().min(0).max(20).default(5),
    totalTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    idleTimeoutMs: z.number().int().min(500).max(600_000).default(15_000),
    /** Lower limit for fetched files than maxBytes; default: maxBytes. */
    maxBytes: z.number().int().min(1024).max(16 * 1024 * MiB).optional(),
    maxConcurrent: z.number().int().min(1).max(1_000).default(16),
  }).strict().prefault({}),
  gc: z.object({
    enabled: z.boolean().default(true),
    intervalSeconds: z.number().int().min(60).max(7 * 86_400).default(3_600),
    /** Unreferenced files younger than this are kept (uploaded, not yet sent). */
    graceSeconds: z.number().int().min(60).max(365 * 86_400).default(86_400),
    /** Leftovers of interrupted uploads idle this long are removed. */
    debrisSeconds: z.number().int().min(60).max(30 * 86_400).default(3_600),
  }).strict().prefault({}),
}).strict().superRefine((media, ctx) => {
  if (media.store.driver !== 's3') return;
  if (media.s3 === undefined) {
    ctx.addIssue({ code: 'custom', path: ['s3'], message: 'media.store.driver is s3: set media.s3 (endpoint, bucket, accessKeyId, secretAccessKey)' });
  }
  if (media.maxBytes > S3_MAX_OBJECT_BYTES) {
    ctx.addIssue({ code: 'custom', path: ['maxBytes'], message: `the s3 driver stores at most ${S3_MAX_OBJECT_BYTES} bytes per file (one PutObject)` });
  }
});
