import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StateStore } from '../types.ts';

interface Entry {
  value: string;
  /** ms since the epoch; undefined = never expires */
  expiresAt: number | undefined;
}

/**
 * Expired entries are swept out at most this often (ms), on a write. A key is otherwise dropped
 * when it is read after its expiry, or at the next start: one nobody reads again (an MTProto auth
 * key made by a handshake and never used) would stay in memory and in the journal until then.
 */
export const SWEEP_EVERY_MS = 60_000;

/** Longest key and value: the state is small by design (keys, positions), not a blob store. */
export const MAX_STATE_KEY_CHARS = 512;
export const MAX_STATE_VALUE_CHARS = 1_048_576;

function checkSizes(key: string, value?: string): void {
  if (key.length === 0 || key.length > MAX_STATE_KEY_CHARS) throw new RangeError(`a state key has 1 to ${MAX_STATE_KEY_CHARS} characters`);
  if (value !== undefined && value.length > MAX_STATE_VALUE_CHARS) throw new RangeError(`a state value has at most ${MAX_STATE_VALUE_CHARS} characters`);
}

/**
 * The state of every namespace of one process, in memory, optionally kept in a local file so it
 * survives a restart on the embedded defaults (the memory bus driver): an append-only journal of
 * JSON lines (`[op, key, value?, expiresAt?]`), each write fsynced before it resolves, compacted
 * when it holds twice the live entries. Writes are synchronous and small; this is for MTProto keys
 * and connector positions, not for traffic.
 */
export class LocalState {
  private readonly entries = new Map<string, Entry>();
  private fd: number | undefined;
  private journalLines = 0;
  private lastSweep: number;

  constructor(private readonly file?: string, private readonly now: () => number = Date.now) {
    this.lastSweep = now();
    if (file === undefined) return;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.load(file);
    this.compact();
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        continue; // a torn last line after a crash: the write it held was never acknowledged
      }
      if (!Array.isArray(record) || typeof record[1] !== 'string') continue;
      const [op, key, value, expiresAt] = record as [unknown, string, unknown, unknown];
      if (op === 'set' && typeof value === 'string') this.entries.set(key, { value, expiresAt: typeof expiresAt === 'number' ? expiresAt : undefined });
      else if (op === 'del') this.entries.delete(key);
    }
  }

  /** Rewrites the journal with only the live entries (temp file, fsync, rename). */
  private compact(): void {
    if (this.file === undefined) return;
    const now = this.now();
    const lines: string[] = [];
    for (const [key, e] of this.entries) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) this.entries.delete(key);
      else lines.push(JSON.stringify(['set', key, e.value, e.expiresAt ?? null]));
    }
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, lines.length > 0 ? lines.join('\n') + '\n' : '');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = openSync(this.file, 'a', 0o600);
    this.journalLines = lines.length;
  }

  private append(record: unknown[]): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, JSON.stringify(record) + '\n');
    fsyncSync(this.fd);
    if (++this.journalLines > 2 * this.entries.size + 1_000) this.compact();
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  store(namespace: string): StateStore {
    const full = (key: string) => `${namespace}:${key}`;
    return {
      get: async (key) => { checkSizes(key); return this.live(full(key))?.value; },
      set: async (key, value, ttlMs) => this.set(full(key), key, value, ttlMs),
      setIfAbsent: async (key, value, ttlMs) => {
        if (this.live(full(key)) !== undefined) { checkSizes(key, value); return false; }
        this.set(full(key), key, value, ttlMs);
        return true;
      },
      delete: async (key) => {
        checkSizes(key);
        if (this.entries.delete(full(key))) this.append(['del', full(key)]);
      },
      expire: async (key, ttlMs) => {
        checkSizes(key);
        const e = this.live(full(key));
        if (e === undefined) return false;
        this.set(full(key), key, e.value, ttlMs);
        return true;
      },
      replace: async (key, expected, value, ttlMs) => {
        checkSizes(key, value);
        if (this.live(full(key))?.value !== expected) return false;
        this.set(full(key), key, value, ttlMs);
        return true;
      },
    };
  }

  /** One key's value, read at once (for a constructor, which cannot await a StateStore). */
  peek(namespace: string, key: string): string | undefined {
    return this.live(`${namespace}:${key}`)?.value;
  }

  /** Sets one key at once, written (and fsynced, with a file) before it returns; throws as a StateStore set rejects. */
  put(namespace: string, key: string, value: string): void {
    this.set(`${namespace}:${key}`, key, value, undefined);
  }

  private set(fullKey: string, key: string, value: string, ttlMs: number | undefined): void {
    checkSizes(key, value);
    this.sweep();
    const expiresAt = ttlMs === undefined ? undefined : this.now() + ttlMs;
    this.entries.set(fullKey, { value, expiresAt });
    this.append(['set', fullKey, value, expiresAt ?? null]);
  }

  /** Entries held (expired ones not swept yet included). */
  get size(): number {
    return this.entries.size;
  }

  /** Drops the expired entries (at most once per SWEEP_EVERY_MS); the journal is compacted when it is then mostly dead lines. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    let removed = 0;
    for (const [key, e] of this.entries) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.entries.delete(key);
        removed++;
      }
    }
    // Their journal lines carry the expiry, so a restart drops them too: no `del` line needed.
    if (removed > 0 && this.journalLines > 2 * this.entries.size + 1_000) this.compact();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
