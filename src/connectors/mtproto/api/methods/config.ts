// help.getConfig's answer. One object with every field any known layer's `config` has (138..198:
// three definitions); the layer codec keeps what the client's layer defines. Values are what a
// client needs to talk to this bridge: one DC (this server), limits the bridge enforces, and
// Telegram's published defaults for client-side timers.
import type { TlObject } from '../../tl/codec.ts';
import { dcOption, type DcAddress } from '../dc.ts';

/** How long a client may cache the config (Telegram sends about an hour). */
export const CONFIG_TTL_SECONDS = 3600;

export interface ConfigLimits {
  /** Longest message text the bridge takes, in UTF-16 units (Telegram: 4096). */
  messageLengthMax: number;
  /** Longest media caption (Telegram: 1024). */
  captionLengthMax: number;
}

export const DEFAULT_CONFIG_LIMITS: ConfigLimits = { messageLengthMax: 4096, captionLengthMax: 1024 };

export function buildConfig(dc: DcAddress, now: number, limits: ConfigLimits = DEFAULT_CONFIG_LIMITS): TlObject {
  return {
    _: 'config',
    // Flags: features the bridge does not offer stay off (calls, p2p, stickers preload...).
    phonecalls_enabled: false,
    default_p2p_contacts: false,
    preload_featured_stickers: false,
    ignore_phone_entities: false,
    revoke_pm_inbox: true,
    blocked_mode: false,
    // No perfect forward secrecy: temporary keys are not bound (auth.bindTempAuthKey) yet.
    pfs_enabled: false,
    force_try_ipv6: false,
    date: now,
    expires: now + CONFIG_TTL_SECONDS,
    test_mode: false,
    this_dc: dc.id,
    dc_options: [dcOption(dc)],
    // Empty: clients must not look up Telegram's DC list over DNS for this server.
    dc_txt_domain_name: '',
    chat_size_max: 200,
    megagroup_size_max: 200_000,
    forwarded_count_max: 100,
    online_update_period_ms: 210_000,
    offline_blur_timeout_ms: 5_000,
    offline_idle_timeout_ms: 30_000,
    online_cloud_timeout_ms: 300_000,
    notify_cloud_delay_ms: 30_000,
    notify_default_delay_ms: 1_500,
    push_chat_period_ms: 60_000,
    push_chat_limit: 2,
    saved_gifs_limit: 200,
    edit_time_limit: 172_800,
    revoke_time_limit: 0x7fffffff,
    revoke_pm_time_limit: 0x7fffffff,
    rating_e_decay: 2_419_200,
    stickers_recent_limit: 200,
    stickers_faved_limit: 5,
    channels_read_media_period: 604_800,
    pinned_dialogs_count_max: 5,
    pinned_infolder_count_max: 200,
    call_receive_timeout_ms: 20_000,
    call_ring_timeout_ms: 90_000,
    call_connect_timeout_ms: 30_000,
    call_packet_timeout_ms: 10_000,
    // No t.me-style links for bridged users: an empty prefix, so clients build none.
    me_url_prefix: '',
    caption_length_max: limits.captionLengthMax,
    message_length_max: limits.messageLengthMax,
    webfile_dc_id: dc.id,
  };
}
