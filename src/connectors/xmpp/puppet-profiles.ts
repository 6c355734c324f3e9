import type { Element } from '@xmpp/xml';
import type { StateStore } from '../../bus/types.ts';
import type { Logger } from '../../core/logger.ts';
import { bareJid } from './address.ts';
import { photoHash, type PuppetAvatars } from './avatars.ts';
import { NS } from './ns.ts';
import type { Occupancies } from './occupancy.ts';
import { parsePuppetJid } from './puppets.ts';
import { answerIq, componentEntity, puppetEntity, type AddressedEntity } from './stanza/iq-answers.ts';

/**
 * What a puppet says of the person behind it: their display name and avatar, in its vCard
 * (XEP-0054), its disco identity and its presence (XEP-0153 hash), remembered from the deliveries
 * that name them. The iqs to the component itself (disco) and to its puppets (disco, vCard, ping)
 * are answered here.
 */

/** Bus-state key prefix of a puppet's name and avatar (see rememberPuppet). */
const PUPPET_INFO_KEY = 'puppet:';
/** How long a puppet's name and avatar are kept after its person last spoke. */
const PUPPET_INFO_TTL_MS = 365 * 24 * 3_600_000;

export interface PuppetProfilesDeps {
  /** The component's domain: puppets are addressed under it, and it answers as the component. */
  readonly domain: string;
  /** The bridge's name (config `xmpp.name`): the component's disco identity. */
  readonly name: string;
  /** The bus state: puppets' names and avatars outlive a restart (see rememberPuppet). */
  readonly state: StateStore;
  readonly logger: Logger;
  /** Avatars fetched for vCards (their bytes) and presences (their hash). */
  readonly avatars: PuppetAvatars;
}

export class PuppetProfiles {
  /** What a puppet's vCard and disco say: its person's display name and avatar URL (bounded). */
  private readonly puppetNames = new Map<string, { name: string; avatar?: string }>();

  constructor(private readonly deps: PuppetProfilesDeps) {}

  /** An iq to the component or to a puppet, answered on the stream held (`send`). */
  onIq(iq: Element, send: (el: Element) => Promise<void>): void {
    const to = iq.attrs['to'] ?? '';
    let target: AddressedEntity = { kind: 'unknown' };
    if (to === this.deps.domain) {
      target = { kind: 'component', entity: componentEntity(this.deps.name) };
    } else {
      const puppet = parsePuppetJid(to, this.deps.domain);
      if (puppet) {
        void this.answerAsPuppet(iq, bareJid(to) ?? to, puppet.kind === 'sender' ? puppet.id : undefined, send);
        return;
      }
    }
    this.answer(iq, target, send);
  }

  /** An iq to a puppet (disco, vCard, ping), answered with what is known of its person. */
  private async answerAsPuppet(iq: Element, bare: string, id: string | undefined, send: (el: Element) => Promise<void>): Promise<void> {
    const known = await this.puppetInfo(bare);
    const name = known?.name ?? id ?? bare;
    const target: AddressedEntity = { kind: 'puppet', entity: puppetEntity(name), vcard: { nickname: name, fullName: name } };
    const avatar = known?.avatar;
    if (avatar !== undefined && iq.getChild('vCard', NS.vcard) !== undefined) {
      // The avatar goes into the vCard as its bytes (XEP-0054 PHOTO), fetched once.
      const photo = await this.deps.avatars.photoOf(avatar).catch(() => undefined);
      if (photo !== undefined) { this.answer(iq, { ...target, vcard: { ...target.vcard, photo } }, send); return; }
    }
    this.answer(iq, target, send);
  }

  private answer(iq: Element, target: AddressedEntity, send: (el: Element) => Promise<void>): void {
    const answer = answerIq(iq, target);
    if (answer) send(answer).catch(() => { /* refused sends are logged and counted by the link */ });
  }

  /**
   * What a puppet's vCard and disco name say: kept in memory, and in the bus state
   * (`puppet:<bare JID>`, for a year after it was last saved: on a change, or on its person's
   * first message after a start), so that after a restart (or on
   * another instance) a puppet asked about before its person speaks again still has their name
   * and avatar, not its id.
   */
  rememberPuppet(bareJid: string, name: string, avatar: string | undefined): void {
    const known = this.puppetNames.get(bareJid);
    if (known?.name === name && known.avatar === avatar) return;
    const info = { name, ...(avatar !== undefined ? { avatar } : {}) };
    if (this.puppetNames.size < 100_000 || known) this.puppetNames.set(bareJid, info);
    this.deps.state.set(`${PUPPET_INFO_KEY}${bareJid}`, JSON.stringify(info), PUPPET_INFO_TTL_MS)
      .catch((err: Error) => this.deps.logger.debug({ puppet: bareJid, err: err.message }, 'a puppet\'s name was not saved'));
  }

  /** A puppet's name and avatar: from memory, else from the bus state (a restart), else undefined. */
  private async puppetInfo(bareJid: string): Promise<{ name: string; avatar?: string } | undefined> {
    const known = this.puppetNames.get(bareJid);
    if (known !== undefined) return known;
    const raw = await this.deps.state.get(`${PUPPET_INFO_KEY}${bareJid}`).catch(() => undefined);
    if (raw === undefined) return undefined;
    try {
      const v = JSON.parse(raw) as { name?: unknown; avatar?: unknown };
      if (typeof v.name !== 'string') return undefined;
      const info = { name: v.name, ...(typeof v.avatar === 'string' ? { avatar: v.avatar } : {}) };
      if (this.puppetNames.size < 100_000) this.puppetNames.set(bareJid, info);
      return info;
    } catch {
      return undefined;
    }
  }

  /**
   * XEP-0153 for a puppet in a room: once its person's avatar is fetched (through the media store,
   * the same bytes its vCard gives), its presence there carries the image's SHA-1, so clients
   * fetch the vCard and show the avatar. Cheap when nothing changed (the hash is kept per URL and
   * the occupancy only sends a presence when what it shows changes).
   */
  advertiseAvatar(room: string, puppet: string, occupancies: Occupancies): void {
    const url = this.puppetNames.get(puppet.split('/')[0] as string)?.avatar;
    const avatars = this.deps.avatars;
    if (url === undefined) return;
    const show = (hash: string | undefined): void => {
      if (hash === undefined) return;
      occupancies.updatePresence(room, puppet, { photo: hash }).catch((err: unknown) => {
        this.deps.logger.debug({ err, room, puppet }, 'avatar presence not sent');
      });
    };
    const known = avatars.knownHash(url);
    if (known) { show(known.hash); return; }
    avatars.photoOf(url).then((photo) => show(photoHash(photo)), () => { /* photoOf logs and never rejects */ });
  }

  /**
   * XEP-0153 for a puppet's presence to a direct-chat contact: its avatar hash when the avatar is
   * fetched already; otherwise nothing now, and the fetch is started so the next presence has it
   * (a probe, a resubscription, the next change, the presences sent after a reconnect).
   */
  photoOf(puppetBare: string): { photo?: string } {
    const url = this.puppetNames.get(puppetBare)?.avatar;
    if (url === undefined) return {};
    const known = this.deps.avatars.knownHash(url);
    if (known === undefined) {
      void this.deps.avatars.photoOf(url);
      return {};
    }
    return known.hash !== undefined ? { photo: known.hash } : {};
  }
}
