import { MediaError, MediaErrorCode } from './errors.ts';
import { mimeEssence, mimeMatches, OCTET_STREAM, parseMimePattern } from './mime-type.ts';
import type { Sniffed } from './sniff.ts';

export interface TypePolicyOptions {
  /** Patterns (`type/subtype`, `type/*`, `*\/*`) a stored file's type must match. Default: everything. */
  readonly allow?: readonly string[];
  /** Patterns refused even when allowed. Deny wins. Default: none. */
  readonly deny?: readonly string[];
}

/**
 * The type a file is stored (and later served) with: the bytes decide whenever they can be
 * dangerous or are recognisably media, the uploader's declaration only fills in what sniffing
 * cannot tell. Rules, in order:
 *   1. sniffed scriptable (HTML, SVG, XML, PDF): the sniffed type, whatever was declared;
 *   2. sniffed image/audio/video: the sniffed type (what is served inline is what the bytes are);
 *   3. otherwise the declared type if it is a well-formed MIME type;
 *   4. otherwise the sniffed type (text/plain, application/octet-stream or a known container).
 * A declared scriptable type is kept under rule 3 (e.g. a .js file): it is stored honestly and
 * served as an attachment, never inline (see mime-type.ts isInlineSafe).
 */
export function effectiveMime(declared: string | undefined, sniffed: Sniffed): string {
  if (sniffed.kind === 'scriptable' || sniffed.kind === 'media') return sniffed.mime;
  const essence = mimeEssence(declared);
  if (essence !== undefined && essence !== OCTET_STREAM) return essence;
  return sniffed.mime;
}

export class TypePolicy {
  private readonly allow: readonly string[];
  private readonly deny: readonly string[];

  constructor(options: TypePolicyOptions = {}) {
    this.allow = (options.allow ?? ['*/*']).map(parseMimePattern);
    this.deny = (options.deny ?? []).map(parseMimePattern);
  }

  isAllowed(essence: string): boolean {
    return this.allow.some((p) => mimeMatches(essence, p)) && !this.deny.some((p) => mimeMatches(essence, p));
  }

  /** The type to store, or a MediaError(unsupported_type) naming what the bytes were taken for. */
  decide(declared: string | undefined, sniffed: Sniffed): string {
    const mime = effectiveMime(declared, sniffed);
    if (!this.isAllowed(mime)) {
      const said = mimeEssence(declared);
      const how = said !== undefined && said !== mime ? ` (declared ${said}, content is ${mime})` : '';
      throw new MediaError(MediaErrorCode.UnsupportedType, `type ${mime} is not accepted${how}`);
    }
    return mime;
  }
}
