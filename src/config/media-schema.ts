import { z } from 'zod';

/** Shortest URL-signing secret accepted (the media store's UrlSigner refuses shorter ones too). */
const MIN_SECRET_BYTES = 32;

const MiB = 1024 * 1024;

/**
 * The `media:` section of config.yaml (src/media/ takes it as its MediaConfig). Every size, time
 * and count has a limit with a safe default; docs/media.md explains each key.
 */
export const MediaConfigSchema = z.object({
  enabled: z.boolean().default(true),
  /** Directory of the local store, relative to the config file. */
  dir: z.string().min(1).default('./data/media'),
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
}).strict();
