import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { Component, type StreamError } from '@xmpp/component-core';
import xml, { type Element } from '@xmpp/xml';
import type { Logger } from '../../core/logger.ts';
import type { Registry } from '../../core/metrics.ts';
import { fromInsideDomain, parseJid } from './address.ts';
import { xmppMetrics, type XmppMetrics } from './metrics.ts';
import { xmlSafe } from './xml-chars.ts';
import { NS } from './ns.ts';
import { TokenBucket } from '../../core/token-bucket.ts';

/**
 * The component's one stream to its XMPP server (XEP-0114), on @xmpp/component-core's Component.
 * xmpp.js's own reconnect (a fixed 1 s, forever, also after `not-authorized`) is not used; this
 * link owns the lifecycle instead:
 *
 *   idle -> connecting -> online -> (stream lost) -> waiting (backoff) -> connecting -> ...
 *                     \-> failed   (not-authorized, conflict, host-unknown: one error, no loop)
 *   any  -> stopped   (stop())
 *
 * Every stanza that leaves is checked first (a `from` inside our domain, a `to`, its size, the
 * send rate): Prosody closes the whole stream on one stanza with a foreign `from`, so a bad one is
 * refused here, logged and counted, and the stream survives. Inbound stanzas are bounded in size
 * before any handler sees them; iq replies are matched to request() here.
 */

export type LinkStatus = 'idle' | 'connecting' | 'online' | 'waiting' | 'failed' | 'stopped';

export interface ComponentLinkOptions {
  host: string;
  port: number;
  /** The component's domain, e.g. bridge.example.org. */
  domain: string;
  secret: string;
  /** Where XEP-0199 pings go: the server's own domain. Default: `domain` without its first label. */
  serverDomain?: string;
  /** Reconnect delays: initialMs doubling up to maxMs, each with ±20 % jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How long one connect + handshake may take. */
  connectTimeoutMs?: number;
  /** A stream online this long resets the backoff (a stream that drops at once keeps backing off). */
  stableAfterMs?: number;
  /** XEP-0199 ping to the server every intervalMs; no answer within timeoutMs = dead stream. 0 disables. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /**
   * After this link lost a stream, the server may still hold the old one for a while and answer
   * `conflict`; within this window a conflict is retried, after it (or on a first connect) it is fatal.
   */
  conflictGraceMs?: number;
  /**
   * This link takes over from another instance, whose stream the server may still hold: a
   * conflict within conflictGraceMs of the start is retried too (a first connect is otherwise fatal).
   */
  takeover?: boolean;
  maxInboundStanzaBytes?: number;
  maxOutboundStanzaBytes?: number;
  /** Outbound stanza rate; beyond it sends wait in a bounded queue. */
  outboundPerSecond?: number;
  outboundBurst?: number;
  maxQueuedOutbound?: number;
  /** Called with every inbound stanza that passed the bounds, except iq replies to request(). */
  onStanza: (stanza: Element) => void | Promise<void>;
  logger: Logger;
  registry: Registry;
}

/** Conditions after which reconnecting cannot help: one clear error and a stop. */
const FATAL_CONDITIONS = new Set(['not-authorized', 'conflict', 'host-unknown']);
/** How long a stream opened without an id may take to say why (its stream error) before it is a plain failure. */
const NO_ID_GRACE_MS = 2_000;

export type LinkErrorCode = 'not_authorized' | 'conflict' | 'host_unknown';

export class ComponentLinkError extends Error {
  constructor(readonly code: LinkErrorCode, message: string, readonly condition: string) {
    super(message);
    this.name = 'ComponentLinkError';
  }
}

export type SendRefusal = 'bad_from' | 'bad_to' | 'not_a_stanza' | 'too_large' | 'offline' | 'queue_full' | 'stopped';

/** A stanza this link refused to send (it never reached the server). */
export class SendRefusedError extends Error {
  constructor(readonly reason: SendRefusal, message: string) {
    super(message);
    this.name = 'SendRefusedError';
  }
}

/** The error reply to an iq request(). */
export class IqErrorReply extends Error {
  constructor(readonly stanza: Element, readonly condition: string) {
    super(`iq error: ${condition}`);
    this.name = 'IqErrorReply';
  }
}

export class IqTimeoutError extends Error {
  constructor(readonly id: string, timeoutMs: number) {
    super(`no reply to iq ${id} within ${timeoutMs} ms`);
    this.name = 'IqTimeoutError';
  }
}

interface LinkEvents {
  status: [status: LinkStatus, detail: { error?: Error; delayMs?: number }];
  online: [];
  offline: [reason: string];
  failed: [error: ComponentLinkError];
}

interface QueuedSend { text: string; name: string; resolve: () => void; reject: (err: Error) => void }
interface PendingIq { resolve: (el: Element) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }

function isStreamError(err: unknown): err is StreamError {
  return err instanceof Error && typeof (err as Partial<StreamError>).condition === 'string';
}

export class ComponentLink extends EventEmitter<LinkEvents> {
  private readonly opts: Required<Omit<ComponentLinkOptions, 'backoff' | 'serverDomain' | 'takeover'>> & { serverDomain: string; initialBackoffMs: number; maxBackoffMs: number };
  private readonly metrics: XmppMetrics;
  private readonly log: Logger;
  private readonly bucket: TokenBucket;
  private state: LinkStatus = 'idle';
  private entity: Component | undefined;
  private readonly queue: QueuedSend[] = [];
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, PendingIq>();
  private pingTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private streamLost: ((reason: string) => void) | undefined;
  /** A loss signalled before run() started waiting for it. */
  private lossReason: string | undefined;
  private abortConnect: ((err: Error) => void) | undefined;
  private lostStreamAt = 0;
  private readonly takeover: boolean;
  private inflightBytes = 0;
  private running: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private failure: ComponentLinkError | undefined;

  constructor(options: ComponentLinkOptions) {
    super();
    const domain = options.domain.toLowerCase();
    if (parseJid(domain)?.toString() !== domain || domain.includes('@')) throw new Error(`component domain ${JSON.stringify(options.domain)} is not a domain`);
    if (options.secret.length === 0) throw new Error('component secret is empty');
    const dot = domain.indexOf('.');
    const serverDomain = options.serverDomain ?? (dot > 0 ? domain.slice(dot + 1) : domain);
    this.takeover = options.takeover === true;
    this.opts = {
      host: options.host,
      port: options.port,
      domain,
      secret: options.secret,
      serverDomain,
      initialBackoffMs: options.backoff?.initialMs ?? 500,
      maxBackoffMs: options.backoff?.maxMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      stableAfterMs: options.stableAfterMs ?? 10_000,
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      pingTimeoutMs: options.pingTimeoutMs ?? 10_000,
      conflictGraceMs: options.conflictGraceMs ?? 60_000,
      maxInboundStanzaBytes: options.maxInboundStanzaBytes ?? 256 * 1024,
      maxOutboundStanzaBytes: options.maxOutboundStanzaBytes ?? 256 * 1024,
      outboundPerSecond: options.outboundPerSecond ?? 2_000,
      outboundBurst: options.outboundBurst ?? 2_000,
      maxQueuedOutbound: options.maxQueuedOutbound ?? 10_000,
      onStanza: options.onStanza,
      logger: options.logger,
      registry: options.registry,
    };
    if (this.opts.initialBackoffMs > this.opts.maxBackoffMs) throw new Error('backoff.initialMs must not exceed backoff.maxMs');
    if (this.opts.pingIntervalMs > 0 && this.opts.pingTimeoutMs <= 0) throw new Error('pingTimeoutMs must be > 0 when pings are on');
    this.log = options.logger.child({ component: 'xmpp-link', domain });
    this.metrics = xmppMetrics(options.registry);
    this.bucket = new TokenBucket(this.opts.outboundPerSecond, this.opts.outboundBurst);
  }

  get status(): LinkStatus { return this.state; }
  get domain(): string { return this.opts.domain; }
  /** The fatal error that stopped the link, if one did. */
  get error(): ComponentLinkError | undefined { return this.failure; }

  /** Settles when the connect loop has ended for good (after a fatal error or stop()): no timer is left behind. */
  get finished(): Promise<void> { return this.running ?? Promise.resolve(); }

  /** Starts connecting (and reconnecting) in the background. Watch `status`, or await whenOnline(). */
  start(): void {
    if (this.state !== 'idle') throw new Error(`component link already started (${this.state})`);
    // Taking over: the previous holder's stream counts as ours, just lost.
    if (this.takeover) this.lostStreamAt = Date.now();
    this.running = this.run();
  }

  /** Resolves the next time the link is online (now, if it is); rejects if it fails or stops first. */
  whenOnline(): Promise<void> {
    if (this.state === 'online') return Promise.resolve();
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.state === 'stopped') return Promise.reject(new Error('component link stopped'));
    return new Promise((resolve, reject) => {
      const onStatus = (s: LinkStatus): void => {
        if (s === 'online') { this.off('status', onStatus); resolve(); }
        else if (s === 'failed') { this.off('status', onStatus); reject(this.failure); }
        else if (s === 'stopped') { this.off('status', onStatus); reject(new Error('component link stopped')); }
      };
      this.on('status', onStatus);
    });
  }

  /** Closes the stream (if open) and stops reconnecting. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.running;
    if (this.state === 'idle' || this.state === 'failed') {
      this.setStatus('stopped', {});
      return;
    }
    this.setStatus('stopped', {});
    this.wake?.();
    this.abortConnect?.(new Error('component link stopped'));
    const entity = this.entity;
    if (entity && entity.status === 'online') {
      try { await entity.stop(); } catch { /* the socket goes anyway */ }
    }
    if (entity) this.dropEntity(entity);
    this.signalLoss('stopped');
    await wasRunning;
  }

  /**
   * Sends one stanza. Characters XML does not allow become U+FFFD (xml-chars.ts). A missing `from` becomes the component domain; a `from` outside it, a
   * missing `to`, an oversized stanza, or a send while offline is refused (SendRefusedError,
   * logged and counted) and nothing is written. Resolves once written to the socket.
   */
  send(stanza: Element): Promise<void> {
    const name = stanza.name;
    if (name !== 'message' && name !== 'presence' && name !== 'iq') return this.refuse('not_a_stanza', `<${name}> is not a stanza`, stanza);
    stanza.attrs['from'] ??= this.opts.domain;
    if (!fromInsideDomain(stanza.attrs['from'], this.opts.domain)) {
      return this.refuse('bad_from', `from ${JSON.stringify(stanza.attrs['from'])} is outside the component domain ${this.opts.domain}`, stanza);
    }
    if (parseJid(stanza.attrs['to']) === undefined) return this.refuse('bad_to', `to ${JSON.stringify(stanza.attrs['to'])} is not a JID`, stanza);
    // Text from other networks may hold characters XML does not allow; one would end the stream.
    const { text, replaced } = xmlSafe(stanza.toString());
    if (replaced > 0) {
      this.metrics.charsReplaced.inc(replaced);
      this.log.debug({ to: stanza.attrs['to'], name, replaced }, 'outbound stanza: characters XML does not allow replaced by U+FFFD');
    }
    const bytes = Buffer.byteLength(text);
    if (bytes > this.opts.maxOutboundStanzaBytes) {
      return this.refuse('too_large', `stanza of ${bytes} bytes exceeds maxOutboundStanzaBytes (${this.opts.maxOutboundStanzaBytes})`, stanza);
    }
    if (this.state === 'stopped' || this.state === 'failed') return this.refuse('stopped', 'component link is stopped', stanza, 'debug');
    if (this.state !== 'online') return this.refuse('offline', 'component stream is not online', stanza, 'debug');
    if (this.queue.length >= this.opts.maxQueuedOutbound) return this.refuse('queue_full', `outbound queue full (${this.opts.maxQueuedOutbound})`, stanza);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ text, name, resolve, reject });
      this.drain();
    });
  }

  /** Sends an iq get/set and resolves with its result (rejects with IqErrorReply / IqTimeoutError). */
  async request(iq: Element, timeoutMs = 30_000): Promise<Element> {
    if (iq.name !== 'iq' || (iq.attrs['type'] !== 'get' && iq.attrs['type'] !== 'set')) throw new Error('request() takes an iq of type get or set');
    const id = iq.attrs['id'] ?? `sb-${randomBytes(9).toString('base64url')}`;
    iq.attrs['id'] = id;
    if (this.pending.has(id)) throw new Error(`an iq with id ${id} is already pending`);
    const reply = new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IqTimeoutError(id, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    try {
      await this.send(iq);
    } catch (err) {
      const p = this.pending.get(id);
      if (p) { clearTimeout(p.timer); this.pending.delete(id); }
      reply.catch(() => { /* settled through the send error */ });
      throw err;
    }
    return await reply;
  }

  private refuse(reason: SendRefusal, message: string, stanza: Element, level: 'warn' | 'debug' = 'warn'): Promise<never> {
    this.metrics.outboundRefused.inc({ reason });
    this.log[level]({ reason, to: stanza.attrs['to'], from: stanza.attrs['from'], name: stanza.name }, `outbound stanza refused: ${message}`);
    return Promise.reject(new SendRefusedError(reason, message));
  }

  private drain(): void {
    if (this.drainTimer !== undefined) return;
    while (this.queue.length > 0) {
      const entity = this.entity;
      if (this.state !== 'online' || !entity) {
        this.failQueued('offline');
        return;
      }
      if (!this.bucket.tryTake()) {
        this.drainTimer = setTimeout(() => { this.drainTimer = undefined; this.drain(); }, this.bucket.msUntilToken());
        return;
      }
      const item = this.queue.shift();
      if (!item) return;
      entity.write(item.text).then(() => {
        this.metrics.stanzasOut.inc({ name: item.name });
        item.resolve();
      }, (err: unknown) => {
        item.reject(new SendRefusedError('offline', `write failed: ${(err as Error).message}`));
      });
    }
  }

  private failQueued(reason: 'offline' | 'stopped'): void {
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    for (const item of this.queue.splice(0)) {
      this.metrics.outboundRefused.inc({ reason });
      item.reject(new SendRefusedError(reason, 'component stream went away before this stanza was sent'));
    }
  }

  private setStatus(status: LinkStatus, detail: { error?: Error; delayMs?: number }): void {
    if (this.state === status) return;
    if (this.state === 'stopped' || (this.state === 'failed' && status !== 'stopped')) return;
    this.state = status;
    this.metrics.up.set(status === 'online' ? 1 : 0);
    this.emit('status', status, detail);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (this.state !== 'stopped') {
      this.setStatus('connecting', {});
      let entity: Component;
      try {
        entity = await this.connectOnce();
      } catch (err) {
        if (this.isStopped()) break;
        const fatal = this.fatalFrom(err);
        if (fatal) {
          this.failure = fatal;
          this.log.error({ code: fatal.code, condition: fatal.condition }, `component connection refused for good: ${fatal.message}`);
          this.setStatus('failed', { error: fatal });
          this.emit('failed', fatal);
          return;
        }
        const reason = isStreamError(err) ? err.condition : ((err as NodeJS.ErrnoException).code ?? 'error');
        this.metrics.connectFailures.inc({ reason });
        attempt++;
        const delayMs = this.backoffDelay(attempt);
        this.log.warn({ err: (err as Error).message, reason, attempt, delayMs }, 'component connection failed; retrying');
        this.setStatus('waiting', { error: err as Error, delayMs });
        await this.sleep(delayMs);
        continue;
      }
      const onlineAt = Date.now();
      this.metrics.connects.inc();
      this.log.info({ host: this.opts.host, port: this.opts.port }, 'component online');
      this.setStatus('online', {});
      this.emit('online');
      this.startPings(entity);
      const reason = await new Promise<string>((resolve) => {
        if (this.lossReason !== undefined) resolve(this.lossReason);
        else this.streamLost = resolve;
      });
      this.streamLost = undefined;
      this.lossReason = undefined;
      this.stopPings();
      this.dropEntity(entity);
      this.failQueued(this.isStopped() ? 'stopped' : 'offline');
      this.rejectPending(reason);
      if (this.isStopped()) break;
      this.lostStreamAt = Date.now();
      this.metrics.disconnects.inc({ reason });
      this.log.warn({ reason }, 'component stream lost; reconnecting');
      this.emit('offline', reason);
      if (Date.now() - onlineAt >= this.opts.stableAfterMs) attempt = 0;
      attempt++;
      const delayMs = attempt === 1 ? 0 : this.backoffDelay(attempt - 1);
      this.setStatus('waiting', { delayMs });
      if (delayMs > 0) await this.sleep(delayMs);
    }
    this.stopPings();
    this.rejectPending('stopped');
  }

  private signalLoss(reason: string): void {
    if (this.streamLost) this.streamLost(reason);
    else this.lossReason ??= reason;
  }

  private isStopped(): boolean { return this.state === 'stopped'; }

  private fatalFrom(err: unknown): ComponentLinkError | undefined {
    if (!isStreamError(err) || !FATAL_CONDITIONS.has(err.condition)) return undefined;
    const { condition } = err;
    if (condition === 'conflict' && this.lostStreamAt > 0 && Date.now() - this.lostStreamAt < this.opts.conflictGraceMs) {
      this.log.warn('server still holds our previous component stream (conflict); retrying');
      return undefined;
    }
    const text = err.text ? ` (${err.text})` : '';
    switch (condition) {
      case 'not-authorized':
        // ejabberd answers not-authorized for a domain it has no component for, too.
        return new ComponentLinkError('not_authorized', `the XMPP server refused the component secret for ${this.opts.domain}${text}: check the secret, and that the server serves this domain as a component`, condition);
      case 'conflict':
        return new ComponentLinkError('conflict', `another connection already serves component ${this.opts.domain}${text}`, condition);
      default:
        return new ComponentLinkError('host_unknown', `the XMPP server does not know component ${this.opts.domain}${text}: add it to the server's config`, condition);
    }
  }

  private backoffDelay(attempt: number): number {
    const base = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }

  /** One connect + stream open + handshake. Resolves with the online entity. */
  private connectOnce(): Promise<Component> {
    return new Promise<Component>((resolve, reject) => {
      const service = `xmpp://${this.opts.host}:${this.opts.port}`;
      const entity = new Component({ service, domain: this.opts.domain });
      entity.timeout = this.opts.connectTimeoutMs;
      this.entity = entity;
      this.lossReason = undefined;
      let settled = false;
      let streamError: StreamError | undefined;
      let noIdGrace: NodeJS.Timeout | undefined;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(noIdGrace);
        this.abortConnect = undefined;
        this.dropEntity(entity);
        reject(streamError ?? err);
      };
      this.abortConnect = fail;
      const timer = setTimeout(() => fail(new Error(`no component handshake within ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
      entity.on('error', (err) => {
        if (isStreamError(err)) streamError = err;
        if (!settled) { fail(err); return; }
        this.log.warn({ err: err.message, condition: isStreamError(err) ? err.condition : undefined }, 'component stream error');
      });
      entity.on('open', (header) => {
        const id = header.attrs['id'];
        if (!id) {
          // A server refusing the domain (Prosody: no component of that name) opens the stream
          // without an id and then sends its reason, host-unknown: wait for that briefly, so the
          // failure is the fatal one it is, not a retried "no id".
          noIdGrace = setTimeout(() => fail(new Error('the server opened the stream without an id')), NO_ID_GRACE_MS);
          return;
        }
        entity.authenticate(id, this.opts.secret).catch((err: Error) => fail(err));
      });
      entity.on('online', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.abortConnect = undefined;
        this.inflightBytes = 0;
        resolve(entity);
      });
      entity.on('disconnect', () => {
        if (!settled) { fail(new Error('the server closed the connection during the handshake')); return; }
        if (this.entity === entity) this.signalLoss(streamError?.condition ?? 'disconnected');
      });
      entity.on('input', (chunk) => this.onInput(entity, chunk));
      entity.on('stanza', (el) => { if (settled && this.entity === entity) this.onStanza(el); });
      entity.connect(service).then(() => entity.open({ domain: this.opts.domain })).catch((err: Error) => fail(err));
    });
  }

  /** Forgets an entity: its late events can no longer reach us, its socket is gone. */
  private dropEntity(entity: Component): void {
    if (this.entity === entity) this.entity = undefined;
    entity.removeAllListeners();
    entity.on('error', () => { /* a dropped entity's late errors are irrelevant */ });
    entity.socket?.destroy();
  }

  /**
   * Bounds what the parser may buffer for one stanza: bytes since the last complete element. A
   * peer streaming an endless element would otherwise grow memory without limit. (The exact
   * per-stanza check is in onStanza; this one only stops the unbounded case.)
   */
  private onInput(entity: Component, chunk: string): void {
    this.inflightBytes += Buffer.byteLength(chunk);
    if (this.inflightBytes > this.opts.maxInboundStanzaBytes * 2) {
      this.metrics.inboundDropped.inc({ reason: 'stream_too_large' });
      this.log.error({ bytes: this.inflightBytes }, 'server sent an unterminated element beyond twice maxInboundStanzaBytes; dropping the stream');
      entity.socket?.destroy();
    }
  }

  private onStanza(el: Element): void {
    this.inflightBytes = 0;
    const bytes = Buffer.byteLength(el.toString());
    this.metrics.stanzasIn.inc({ name: el.name });
    const type = el.attrs['type'];
    if (el.name === 'iq' && (type === 'result' || type === 'error')) {
      const id = el.attrs['id'];
      const p = id === undefined ? undefined : this.pending.get(id);
      if (p && id !== undefined) {
        this.pending.delete(id);
        clearTimeout(p.timer);
        if (type === 'result') p.resolve(el);
        else p.reject(new IqErrorReply(el, el.getChild('error')?.getChildElements()[0]?.name ?? 'undefined-condition'));
        return;
      }
    }
    if (bytes > this.opts.maxInboundStanzaBytes) {
      this.metrics.inboundDropped.inc({ reason: 'too_large' });
      this.log.warn({ bytes, from: el.attrs['from'], name: el.name }, 'inbound stanza over maxInboundStanzaBytes dropped');
      // An iq get/set must get an answer (RFC 6120 §8.2.3); messages and presences are dropped
      // without a bounce: the sender may be a room, and rooms kick occupants that send errors.
      if (el.name === 'iq' && (type === 'get' || type === 'set')) {
        this.send(xml('iq', { type: 'error', id: el.attrs['id'], to: el.attrs['from'], from: el.attrs['to'] },
          xml('error', { type: 'modify' }, xml('policy-violation', { xmlns: NS.stanzas })))).catch(() => { /* counted in send */ });
      }
      return;
    }
    try {
      const r = this.opts.onStanza(el);
      if (r instanceof Promise) r.catch((err: unknown) => this.handlerFailed(err, el));
    } catch (err) {
      this.handlerFailed(err, el);
    }
  }

  private handlerFailed(err: unknown, el: Element): void {
    this.metrics.handlerErrors.inc();
    this.log.error({ err: (err as Error).message, from: el.attrs['from'], name: el.name }, 'inbound stanza handler failed');
  }

  private rejectPending(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new SendRefusedError(reason === 'stopped' ? 'stopped' : 'offline', `component stream lost (${reason}) before iq ${id} was answered`));
    }
    this.pending.clear();
  }

  private startPings(entity: Component): void {
    if (this.opts.pingIntervalMs <= 0) return;
    const ping = (): void => {
      this.pingTimer = undefined;
      if (this.entity !== entity || this.state !== 'online') return;
      const iq = xml('iq', { type: 'get', to: this.opts.serverDomain, from: this.opts.domain }, xml('ping', { xmlns: NS.ping }));
      this.request(iq, this.opts.pingTimeoutMs).then(() => true, (err: unknown) => !(err instanceof IqTimeoutError))
        .then((alive) => {
          if (this.entity !== entity || this.state !== 'online') return;
          if (!alive) {
            // XEP-0199 §4.2: any answer, even an error, proves the stream; silence does not.
            this.metrics.pingTimeouts.inc();
            this.log.warn({ timeoutMs: this.opts.pingTimeoutMs }, 'server did not answer a ping: dropping the dead stream');
            this.signalLoss('ping_timeout');
            return;
          }
          this.pingTimer = setTimeout(ping, this.opts.pingIntervalMs);
        });
    };
    this.pingTimer = setTimeout(ping, this.opts.pingIntervalMs);
  }

  private stopPings(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }
}
