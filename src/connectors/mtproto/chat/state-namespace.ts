/** The connector's namespace in the bus's state store (`bus.state(...)`): every key the chat layer keeps lives under it. */
export const STATE_NAMESPACE = 'mtproto';
