/** The MTProto framings a server recognises (core.telegram.org/mtproto/mtproto-transports). */
export type TransportKind = 'abridged' | 'intermediate' | 'padded' | 'full';
