// The chat layer's files as messages show them: a FileStore for the bytes (file-store.ts) and the
// index of what the connector knows about each (`file:<id>` in the state: photo or document,
// name, type, size, image size, how long and how large it plays), so a message renders the same after a restart and on every
// instance.
import type { Attachment } from '../../../core/event.ts';
import type { FileStore, StoredFile } from './file-store.ts';
import { imageSize } from './files.ts';
import { playInfo, plays, type DeclaredShape, type PlayInfo } from './media-attributes.ts';
import type { MediaIndex } from './media-index.ts';
import type { MediaInfo } from './message-box.ts';

/** Files of other networks larger than this are not read for an image size or a length: they show as documents without. */
const SNIFF_MAX_BYTES = 20 * 1024 * 1024;

export class ChatFiles {
  constructor(private readonly files: FileStore, private readonly index: MediaIndex) {}

  /**
   * Stores a client's upload: a photo when it was sent as one and its size can be read, else a
   * document (a video or audio file with its shape: read from the file, `declared` filling gaps).
   */
  async store(bytes: Uint8Array, meta: { name: string; mime: string; photo: boolean; declared?: DeclaredShape }): Promise<MediaInfo> {
    const image = imageSize(bytes);
    // A GIF is an animation (a document clients play), even sent as a photo.
    if (image?.mime === 'image/gif') return this.#remember(await this.files.put(bytes, { name: meta.name, mime: image.mime }), 'document', { w: image.w, h: image.h });
    const photo = meta.photo && image !== undefined;
    const stored = await this.files.put(bytes, { name: meta.name, mime: photo ? image.mime : meta.mime });
    return this.#remember(stored, photo ? 'photo' : 'document', photo ? { w: image.w, h: image.h } : playInfo(bytes, stored.mime, meta.declared));
  }

  async #remember(stored: StoredFile, kind: MediaInfo['kind'], shape: PlayInfo): Promise<MediaInfo> {
    const info: MediaInfo = {
      kind, file: stored.id, name: stored.name, mime: stored.mime, size: stored.size, sha256: stored.sha256, ...shape,
    };
    await this.index.put(info);
    return info;
  }

  /** What the connector knows of a file by its id. */
  info(id: string): Promise<MediaInfo | undefined> {
    return this.index.get(id);
  }

  read(info: MediaInfo): Promise<Uint8Array | undefined> {
    return this.files.read(this.#stored(info));
  }

  /** The canonical attachment of a file (its URL fresh). */
  attachment(info: MediaInfo): Attachment {
    return this.files.attachment(this.#stored(info));
  }

  /**
   * The file an attachment of a delivery is, when its bytes are in the store: one sent from
   * here, or (with the media store) one another network uploaded, which becomes a document (a
   * photo when it is an image whose size can be read, a GIF an animation, a video or audio file
   * with its shape).
   */
  async native(attachment: Attachment): Promise<MediaInfo | undefined> {
    const stored = await this.files.recognize(attachment);
    if (stored === undefined) return undefined;
    const known = await this.index.get(stored.id);
    if (known !== undefined) return known;
    const sniffed = (stored.mime.startsWith('image/') || plays(stored.mime)) && stored.size <= SNIFF_MAX_BYTES;
    const bytes = sniffed ? await this.files.read(stored) : undefined;
    const image = stored.mime.startsWith('image/') && bytes !== undefined ? imageSize(bytes) : undefined;
    if (image !== undefined) return this.#remember(stored, image.mime === 'image/gif' ? 'document' : 'photo', { w: image.w, h: image.h });
    return this.#remember(stored, 'document', playInfo(bytes, stored.mime));
  }

  #stored(info: MediaInfo): StoredFile {
    return { id: info.file, name: info.name, mime: info.mime, size: info.size, sha256: info.sha256 };
  }
}
