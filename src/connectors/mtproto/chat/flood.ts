// Flood control of the API (core.telegram.org/api/errors#420-flood): per account and method
// class, a token bucket; a call over it gets rpc_error 420 FLOOD_WAIT_X at once, X being the
// seconds until the next call of that class would pass. Stock clients sleep X and retry.
import { TokenBucket, TokenBuckets } from '../../../core/token-bucket.ts';
import { RpcError } from '../session/rpc.ts';

export type FloodClass = 'send' | 'read' | 'upload' | 'typing' | 'auth';

export interface FloodRate {
  readonly perSecond: number;
  readonly burst: number;
}

export type FloodRates = Readonly<Record<FloodClass, FloodRate>>;

/** The class of each method the chat layer serves; a method not listed counts as `read`. */
const CLASS_OF: Readonly<Record<string, FloodClass>> = {
  'messages.sendMessage': 'send',
  'messages.startBot': 'send',
  'messages.sendMedia': 'send',
  'messages.sendMultiMedia': 'send',
  'messages.forwardMessages': 'send',
  'messages.sendScheduledMessages': 'send',
  'messages.deleteScheduledMessages': 'send',
  'folders.editPeerFolders': 'send',
  'folders.deleteFolder': 'send',
  // Finding someone by address remembers them (a write): as costly as a send.
  'contacts.search': 'send',
  // Contacts are written to the state and told to the other sessions; importing asks about numbers.
  'contacts.addContact': 'send',
  'contacts.importContacts': 'send',
  'contacts.deleteContacts': 'send',
  'contacts.deleteByPhones': 'send',
  'messages.hidePeerSettingsBar': 'send',
  'messages.editMessage': 'send',
  'messages.deleteMessages': 'send',
  'messages.deleteHistory': 'send',
  'messages.updatePinnedMessage': 'send',
  'messages.unpinAllMessages': 'send',
  // A new description is a topic published to every network of the room.
  'messages.editChatAbout': 'send',
  'messages.sendReaction': 'send',
  'messages.readHistory': 'send',
  // A new name is written and announced to everyone who sees the account.
  'account.updateProfile': 'send',
  'account.updateUsername': 'send',
  'bots.setBotCommands': 'send',
  'bots.setBotInfo': 'send',
  'bots.resetBotCommands': 'send',
  'messages.saveDraft': 'send',
  'messages.toggleDialogPin': 'send',
  'messages.reorderPinnedDialogs': 'send',
  'messages.markDialogUnread': 'send',
  'account.updateNotifySettings': 'send',
  'account.resetNotifySettings': 'send',
  'messages.readMentions': 'send',
  'messages.readReactions': 'send',
  'messages.uploadMedia': 'upload',
  'upload.saveFilePart': 'upload',
  'upload.saveBigFilePart': 'upload',
  'upload.getFile': 'upload',
  'photos.uploadProfilePhoto': 'upload',
  'photos.updateProfilePhoto': 'upload',
  'photos.deletePhotos': 'upload',
  'messages.setTyping': 'typing',
  'account.updateStatus': 'typing',
  // Hiding the status publishes the account offline once (privacy.ts), in order with its status.
  'account.setPrivacy': 'typing',
  'auth.sendCode': 'auth',
  'auth.signIn': 'auth',
  'auth.importBotAuthorization': 'auth',
};

export function floodClassOf(method: string): FloodClass {
  return CLASS_OF[method] ?? 'read';
}

/** Buckets kept at most (the least recently used are forgotten: a forgotten bucket starts full). */
const MAX_BUCKETS = 100_000;

export class FloodControl {
  readonly #buckets: TokenBuckets;

  constructor(rates: FloodRates, now: () => number = Date.now) {
    this.#buckets = new TokenBuckets(MAX_BUCKETS, (key) => {
      const rate = rates[key.slice(0, key.indexOf(':')) as FloodClass];
      return new TokenBucket(rate.perSecond, rate.burst, now);
    });
  }

  /**
   * Takes one call of `cls` for `who` (a user id, or an auth key before login); throws
   * RpcError 420 FLOOD_WAIT_X when the bucket is empty (nothing is taken then).
   */
  take(who: string, cls: FloodClass): void {
    const bucket = this.#buckets.of(`${cls}:${who}`);
    if (!bucket.tryTake()) throw new RpcError(420, `FLOOD_WAIT_${Math.max(1, Math.ceil(bucket.msUntilToken() / 1000))}`);
  }
}
