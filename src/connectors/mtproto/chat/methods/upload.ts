// Files: upload.saveFilePart / saveBigFilePart stage parts, messages.sendMedia and
// messages.uploadMedia turn them into a stored file (a photo when it is an image whose size we
// can read, else a document), upload.getFile serves them back in the ranges Telegram's rules
// allow (core.telegram.org/api/files).
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { Account } from '../directory.ts';
import { declaredShape } from '../media-attributes.ts';
import type { MediaInfo } from '../message-box.ts';
import { accountOf, badRequest, type ChatCallContext, chatOfPeer, intField, listField, objectField, register, stringField, viewOf, type ChatDeps } from './common.ts';

const MIME = /^[\w.+-]+\/[\w.+-]+$/;
/** upload.getFile reads at most 1 MiB per call, in multiples of 4 KiB (1 KiB with `precise`). */
const MAX_GET = 1024 * 1024;

function cleanName(name: string | undefined, fallback: string): string {
  // eslint-disable-next-line no-control-regex
  const n = (name ?? '').replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim().slice(0, 255);
  return n === '' ? fallback : n;
}

/** The MediaInfo an InputMedia stands for: an upload (stored now) or a file sent before. */
export async function mediaOfInput(deps: ChatDeps, account: Account, media: TlObject | undefined): Promise<MediaInfo> {
  switch (media?._) {
    case 'inputMediaUploadedDocument':
    case 'inputMediaUploadedPhoto': {
      const file = objectField(media, 'file');
      if (file === undefined || (file._ !== 'inputFile' && file._ !== 'inputFileBig')) throw badRequest('MEDIA_INVALID');
      const uploadId = file['id'];
      if (typeof uploadId !== 'bigint') throw badRequest('MEDIA_INVALID');
      // A resent sendMedia names an upload already put together.
      const known = deps.uploads.doneOf(String(account.id), uploadId);
      if (known !== undefined) return known;
      const bytes = deps.uploads.take(String(account.id), uploadId, intField(file, 'parts'));
      const attributes = listField(media, 'attributes').filter((a): a is TlObject => typeof a === 'object' && !Array.isArray(a) && !(a instanceof Uint8Array));
      const named = attributes.find((a) => a._ === 'documentAttributeFilename');
      const photo = media._ === 'inputMediaUploadedPhoto';
      const declared = stringField(media, 'mime_type');
      const mime = declared !== undefined && MIME.test(declared) ? declared.toLowerCase() : photo ? 'image/jpeg' : 'application/octet-stream';
      const name = cleanName(stringField(named ?? media, 'file_name') ?? stringField(file, 'name'), photo ? 'photo.jpg' : 'file');
      const info = await deps.files.store(bytes, { name, mime, photo, declared: declaredShape(attributes) });
      deps.uploads.markDone(String(account.id), uploadId, info);
      return info;
    }
    case 'inputMediaDocument':
    case 'inputMediaPhoto': {
      const ref = objectField(media, 'id');
      const id = ref?.['id'];
      const hash = ref?.['access_hash'];
      if (typeof id !== 'bigint' || typeof hash !== 'bigint' || !deps.keys.checkAccessHash(id.toString(), hash)) throw badRequest('MEDIA_INVALID');
      const info = await deps.files.info(id.toString());
      if (info === undefined) throw badRequest('MEDIA_INVALID');
      return info;
    }
    default:
      throw badRequest('MEDIA_INVALID');
  }
}

// A Map: the key is a file's stored type, which an uploader chose ("constructor" must find nothing).
const FILE_TYPES: ReadonlyMap<string, string> = new Map([
  ['image/jpeg', 'storage.fileJpeg'], ['image/png', 'storage.filePng'], ['image/gif', 'storage.fileGif'], ['image/webp', 'storage.fileWebp'],
  ['application/pdf', 'storage.filePdf'], ['audio/mpeg', 'storage.fileMp3'], ['video/mp4', 'storage.fileMp4'], ['video/quicktime', 'storage.fileMov'],
]);

export function registerUpload(methods: MethodRegistry, deps: ChatDeps): void {
  const save = (big: boolean) => (call: TlObject, ctx: ChatCallContext) => {
    const account = accountOf(deps, ctx);
    const fileId = call['file_id'];
    const bytes = call['bytes'];
    if (typeof fileId !== 'bigint' || !(bytes instanceof Uint8Array)) throw badRequest('FILE_PART_INVALID');
    deps.uploads.savePart(String(account.id), fileId, intField(call, 'file_part', -1), bytes, big ? intField(call, 'file_total_parts', -1) : undefined);
    return true;
  };
  register(methods, deps, 'upload.saveFilePart', 'user', save(false));
  register(methods, deps, 'upload.saveBigFilePart', 'user', save(true));

  register(methods, deps, 'messages.uploadMedia', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const info = await mediaOfInput(deps, view.account, objectField(call, 'media'));
    return deps.render.media({ id: 0, chat: '0', ev: '', from: String(view.account.id), date: ctx.now, text: '', media: info });
  });

  register(methods, deps, 'upload.getFile', 'user', async (call, ctx) => {
    accountOf(deps, ctx);
    const info = await fileAt(deps, objectField(call, 'location'));
    const offsetRaw = call['offset'];
    const offset = typeof offsetRaw === 'bigint' ? Number(offsetRaw) : typeof offsetRaw === 'number' ? offsetRaw : -1;
    const limit = intField(call, 'limit');
    const unit = call['precise'] === true ? 1024 : 4096;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset % unit !== 0) throw badRequest('OFFSET_INVALID');
    if (limit <= 0 || limit > MAX_GET || limit % unit !== 0) throw badRequest('LIMIT_INVALID');
    const all = await deps.files.read(info);
    if (all === undefined) throw badRequest('FILE_ID_INVALID');
    const bytes = all.subarray(Math.min(offset, all.length), Math.min(offset + limit, all.length));
    return { _: 'upload.file', type: { _: FILE_TYPES.get(info.mime) ?? 'storage.fileUnknown' }, mtime: 0, bytes };
  });
}

/**
 * The file an InputFileLocation names: a document or photo of a message (its id and the access
 * hash we gave out with it), or a user's current profile photo (inputPeerPhotoFileLocation: the
 * user, with the access hash we gave out for them, and the photo id their user object shows).
 */
async function fileAt(deps: ChatDeps, location: TlObject | undefined): Promise<MediaInfo> {
  if (location?._ === 'inputPeerPhotoFileLocation') {
    const peer = objectField(location, 'peer');
    const userId = peer?._ === 'inputPeerUser' ? peer['user_id'] : undefined;
    const userHash = peer?._ === 'inputPeerUser' ? peer['access_hash'] : undefined;
    const photoId = location['photo_id'];
    if (typeof userId !== 'bigint' || typeof userHash !== 'bigint' || typeof photoId !== 'bigint' || !deps.keys.checkPeerHash('user', userId.toString(), userHash)) {
      throw badRequest('LOCATION_INVALID');
    }
    const photo = await deps.render.profilePhotoOf(userId);
    if (photo === undefined || photo.file !== photoId.toString()) throw badRequest('LOCATION_INVALID');
    return photo;
  }
  if (location?._ !== 'inputDocumentFileLocation' && location?._ !== 'inputPhotoFileLocation') throw badRequest('LOCATION_INVALID');
  const id = location['id'];
  const hash = location['access_hash'];
  if (typeof id !== 'bigint' || typeof hash !== 'bigint' || !deps.keys.checkAccessHash(id.toString(), hash)) throw badRequest('LOCATION_INVALID');
  const info = await deps.files.info(id.toString());
  if (info === undefined) throw badRequest('FILE_ID_INVALID');
  return info;
}
