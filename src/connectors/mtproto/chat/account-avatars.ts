// The profile photo an account set from its client (photos.uploadProfilePhoto). It is one of the
// chat layer's files, remembered in the state (`avatar:<id>`, account-records.ts), shown to MTProto
// clients as the account's userProfilePhoto, and carried as the account's avatar (`sender.avatar`,
// a link of our own store) on the events it sends, so other networks show it too (the XMPP
// puppet's vCard, WS clients).
import { profilePicture } from './media-attributes.ts';
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import type { Directory } from './directory.ts';
import type { MediaInfo } from './message-box.ts';

export { REFRESH_MS } from './account-records.ts';

export class AccountAvatars extends AccountRecords<MediaInfo> {
  constructor(state: StateStore, directory: Directory, logger: Logger, now: () => number = Date.now) {
    super(state, directory, logger, 'avatar', parseAvatar, 'profile photo', now);
  }
}

/** A stored avatar, or undefined when it is none (a file that cannot be a profile photo, or not one at all). */
export function parseAvatar(raw: string): MediaInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<MediaInfo>;
    return typeof v.kind === 'string' && typeof v.mime === 'string' && profilePicture(v as MediaInfo) && typeof v.file === 'string' && typeof v.sha256 === 'string' ? v as MediaInfo : undefined;
  } catch {
    return undefined;
  }
}
