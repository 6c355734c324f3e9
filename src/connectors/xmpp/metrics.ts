import { counter, gauge, type Registry } from '../../core/metrics.ts';

/** The XMPP connector's metrics (names are part of the operator docs: keep them stable). */
export function xmppMetrics(registry: Registry) {
  return {
    up: gauge(registry, 'switchboard_xmpp_component_up', '1 while the component stream is online'),
    connects: counter(registry, 'switchboard_xmpp_component_connects_total', 'Component streams that came online'),
    disconnects: counter(registry, 'switchboard_xmpp_component_disconnects_total', 'Component streams lost, by reason', ['reason']),
    connectFailures: counter(registry, 'switchboard_xmpp_component_connect_failures_total', 'Failed connection attempts, by reason', ['reason']),
    pingTimeouts: counter(registry, 'switchboard_xmpp_ping_timeouts_total', 'XEP-0199 pings to the server left unanswered (the stream was then dropped)'),
    stanzasIn: counter(registry, 'switchboard_xmpp_stanzas_in_total', 'Stanzas received from the server, by name', ['name']),
    stanzasOut: counter(registry, 'switchboard_xmpp_stanzas_out_total', 'Stanzas written to the server, by name', ['name']),
    inboundDropped: counter(registry, 'switchboard_xmpp_inbound_dropped_total', 'Inbound stanzas dropped before any handling, by reason', ['reason']),
    outboundRefused: counter(registry, 'switchboard_xmpp_outbound_refused_total', 'Outbound stanzas refused locally and never sent, by reason', ['reason']),
    handlerErrors: counter(registry, 'switchboard_xmpp_handler_errors_total', 'Inbound stanzas whose handler threw'),
    charsReplaced: counter(registry, 'switchboard_xmpp_outbound_chars_replaced_total', 'Characters XML does not allow (controls, U+FFFE, U+FFFF, half a surrogate pair) replaced by U+FFFD in outgoing stanzas'),
  };
}
export type XmppMetrics = ReturnType<typeof xmppMetrics>;

/** The connector's own metrics (beside the link's). */
export function xmppConnectorMetrics(registry: Registry) {
  return {
    inbound: counter(registry, 'switchboard_xmpp_inbound_total', 'Room messages seen by the relay, by outcome (published, duplicate, echo, skipped, history, not_linked, failed, flood (also a user\'s direct-chat queue cut), private_in_room, forged_moderation; subject messages: subject_published, subject_initial, subject_unchanged, subject_echo, subject_archived; receive_only: a message, subject change or occupant\'s presence change of a receive-only room, kept there, not published)', ['outcome']),
    delivered: counter(registry, 'switchboard_xmpp_delivered_total', 'Deliveries to XMPP rooms, by outcome (sent, skipped, unknown_room, refused: the room would not take us; unlinked: the room was unlinked by a bridges/ reload, not sent; send_only: a bridges/ reload made the room send-only after the event was routed, not sent)', ['outcome']),
    rooms: gauge(registry, 'switchboard_xmpp_rooms', 'Linked rooms (bridges/) this instance serves: its relay sits in each while it holds the component'),
    roomLinks: counter(registry, 'switchboard_xmpp_room_links_total', 'Linked rooms changed by a bridges/ reload, by change (linked: joined, unlinked: left, moved: to another canonical room; redirected: bridged another way, bridges/ direction; refused: not a room JID, not served)', ['change']),
    direct: counter(registry, 'switchboard_xmpp_direct_total', 'Direct-chat stanzas (XMPP users <-> puppets), by direction (in, out) and outcome', ['direction', 'outcome']),
    occupantAvatars: counter(registry, 'switchboard_xmpp_occupant_avatars_total', 'vCard photos asked for behind an avatar hash an XMPP user advertised, by outcome (stored, no_photo, mismatch, not_image, failed; not asked: limited, the occupant changed avatars too fast; busy, a thousand requests waited already)', ['outcome']),
    moderations: counter(registry, 'switchboard_xmpp_moderations_total', 'Removals by moderators of other networks carried out in linked rooms, by outcome (retracted: by the puppet that said it, XEP-0424; moderated: by the relay, XEP-0425, also after a puppet\'s retraction; not_done: neither)', ['outcome']),
    topics: counter(registry, 'switchboard_xmpp_topics_total', 'Topics from other networks set as linked rooms\' subjects by the relay, by outcome (set; unchanged: the room had it already; not_done: the room refused, not retried; failed: no answer in time or the stream lost, retried)', ['outcome']),
    catchUps: counter(registry, 'switchboard_xmpp_catch_ups_total', 'Catch-ups from a linked room\'s archive after the relay (re)joined, by outcome (read: to the end, from the last message bridged; read_from_age_bound: the archive no longer held that message among those of xmpp.catchUpMaxAgeSeconds, read from that bound; read_from_archive_start: it had expired from the archive, read all it holds; paused: a turn read xmpp.catchUpPagesPerTurn pages, the rest follows after xmpp.catchUpPauseSeconds; failed: the archive refused the query, live only; first_link: the room\'s first link, where the archive ends noted; later: the room or the bus could not be asked, tried again later)', ['outcome']),
    retryLookups: counter(registry, 'switchboard_xmpp_retry_archive_lookups_total', 'Retried room deliveries looked up in the room archive by origin-id, by whether they were found (then not sent again)', ['found']),
  };
}
export type XmppConnectorMetrics = ReturnType<typeof xmppConnectorMetrics>;
