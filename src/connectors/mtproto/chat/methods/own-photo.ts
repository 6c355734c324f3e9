// An account's profile photo, set from its client: photos.uploadProfilePhoto (a new image),
// photos.updateProfilePhoto (one sent before, or inputPhotoEmpty to remove it) and
// photos.deletePhotos. The photo is one of the chat layer's files (account-avatars.ts): MTProto
// clients see it as the account's userProfilePhoto, other networks as its avatar.
import { profilePicture } from '../media-attributes.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { MediaInfo } from '../message-box.ts';
import { MAX_PROFILE_PHOTO_BYTES } from '../profile-photos.ts';
import { announceUser } from './announce-user.ts';
import { badRequest, listField, objectField, register, viewOf, type ChatDeps } from './common.ts';
import { mediaOfInput } from './upload.ts';
import type { View } from '../render.ts';

export function registerOwnPhoto(methods: MethodRegistry, deps: ChatDeps): void {
  const answer = (view: View, info: MediaInfo | undefined): TlObject => ({
    _: 'photos.photo', photo: info === undefined ? { _: 'photoEmpty', id: 0n } : deps.render.photo(info, view.now),
    users: [deps.render.userObject({ kind: 'account', account: view.account }, view)],
  });

  register(methods, deps, 'photos.uploadProfilePhoto', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    // Another bot's photo (layer 158+ `bot`) and video avatars are not served here.
    if (call['bot'] !== undefined) throw badRequest('BOT_INVALID');
    const file = objectField(call, 'file');
    if (file === undefined) throw badRequest('PHOTO_FILE_MISSING');
    const info = await mediaOfInput(deps, view.account, { _: 'inputMediaUploadedPhoto', file });
    if (!profilePicture(info) || info.size > MAX_PROFILE_PHOTO_BYTES) throw badRequest('IMAGE_PROCESS_FAILED');
    await deps.avatars.set(view.account.id, info);
    await announceUser(deps, view.account, 'photo');
    return answer(view, info);
  });

  register(methods, deps, 'photos.updateProfilePhoto', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    if (call['bot'] !== undefined) throw badRequest('BOT_INVALID');
    const input = objectField(call, 'id');
    if (input?._ === 'inputPhotoEmpty') {
      await deps.avatars.set(view.account.id, undefined);
      await announceUser(deps, view.account, 'photo');
      return answer(view, undefined);
    }
    // A photo sent before (its id and access hash), as a profile photo.
    const info = input?._ === 'inputPhoto' ? await mediaOfInput(deps, view.account, { _: 'inputMediaPhoto', id: input }).catch((err: unknown) => {
      if (err instanceof RpcError) return undefined; // not a photo of ours, or a wrong access hash
      throw err;
    }) : undefined;
    if (info === undefined || !profilePicture(info) || info.size > MAX_PROFILE_PHOTO_BYTES) throw badRequest('PHOTO_ID_INVALID');
    await deps.avatars.set(view.account.id, info);
    await announceUser(deps, view.account, 'photo');
    return answer(view, info);
  });

  // Only the current photo can be deleted (there is no list of former ones): the ids deleted.
  register(methods, deps, 'photos.deletePhotos', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const current = deps.avatars.of(view.account.id);
    const asked = listField(call, 'id').flatMap((v) => (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && (v as TlObject)._ === 'inputPhoto' ? [(v as TlObject)['id']] : []));
    if (current === undefined || !asked.some((id) => typeof id === 'bigint' && id.toString() === current.file)) return [];
    await deps.avatars.set(view.account.id, undefined);
    await announceUser(deps, view.account, 'photo');
    return [BigInt(current.file)];
  });
}
