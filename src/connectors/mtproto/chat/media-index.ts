// What the connector knows about each stored file a message shows (kind, name, type, size,
// image size, URL): `file:<id>` in the connector's state, so messages render the same after a
// restart (whether the bytes are still there is the FileStore's business).
import type { StateStore } from '../../../bus/types.ts';
import type { MediaInfo } from './message-box.ts';

const CACHE = 4_096;

export class MediaIndex {
  readonly #cache = new Map<string, MediaInfo>();

  constructor(private readonly state: StateStore) {}

  async put(info: MediaInfo): Promise<void> {
    await this.state.set(`file:${info.file}`, JSON.stringify(info));
    this.#remember(info);
  }

  async get(fileId: string): Promise<MediaInfo | undefined> {
    const cached = this.#cache.get(fileId);
    if (cached !== undefined) return cached;
    const raw = await this.state.get(`file:${fileId}`);
    if (raw === undefined) return undefined;
    const info = JSON.parse(raw) as MediaInfo;
    this.#remember(info);
    return info;
  }

  #remember(info: MediaInfo): void {
    this.#cache.delete(info.file);
    this.#cache.set(info.file, info);
    if (this.#cache.size > CACHE) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
  }
}
