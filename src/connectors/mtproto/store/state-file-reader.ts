// One key of the memory driver's state file, read without opening the file for writing (a running
// bridge owns it; `check` must change nothing). The journal's lines are replayed in order
// (src/bus/memory/state-store.ts writes `[op, key, value?, expiresAt?]` per line, the key with
// its namespace: `mtproto:kek-check`); a torn last line is ignored, as the store itself does.
import { readFile } from 'node:fs/promises';

/** The value of `fullKey` (namespace included), undefined when absent, expired or no file. */
export async function readStateFileKey(file: string, fullKey: string, now = Date.now()): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || !line.includes(JSON.stringify(fullKey))) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(record) || record[1] !== fullKey) continue;
    const [op, , v, expiresAt] = record as [unknown, string, unknown, unknown];
    if (op === 'del') value = undefined;
    else if (op === 'set' && typeof v === 'string') value = typeof expiresAt === 'number' && expiresAt <= now ? undefined : v;
  }
  return value;
}
