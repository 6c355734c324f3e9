import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigSchema } from '../../src/config/schema.ts';

/**
 * config.example.yaml says it shows every option with its default: every key of the schema
 * (src/config/schema.ts, walked through its zod shape, into the entries of lists of objects such
 * as websocket.tokens and mtproto.accounts) must appear in it, as a setting or commented out, at
 * its place: under its parent key, by indentation (a commented line counts as its text after `# `).
 */

interface Line { indent: number; text: string; commented: boolean }

/** The file's non-blank lines; a comment line is read as what follows its `# `. */
function linesOf(yaml: string): Line[] {
  const lines: Line[] = [];
  for (const raw of yaml.split('\n')) {
    const comment = /^(\s*)# ?(.*)$/.exec(raw);
    const [lead, body] = comment ? [comment[1] ?? '', comment[2] ?? ''] : ['', raw];
    const text = body.trimStart();
    if (text === '') continue;
    lines.push({ indent: lead.length + body.length - text.length, text, commented: comment !== null });
  }
  return lines;
}

/**
 * The line of `key` in the block of lines [from, to): a setting first, then a commented one (a
 * prose comment may start like a key: "# redis:  BullMQ + ..."), then inside a flow mapping.
 */
function findKey(lines: readonly Line[], from: number, to: number, key: string): number | undefined {
  const own = new RegExp(`^(?:- )?${key}:(?:\\s|$)`);
  const inFlow = new RegExp(`[{,]\\s*${key}:\\s`);
  const tries = [(l: Line) => !l.commented && own.test(l.text), (l: Line) => own.test(l.text), (l: Line) => inFlow.test(l.text)];
  for (const matches of tries) {
    for (let i = from; i < to; i++) if (lines[i] !== undefined && matches(lines[i] as Line)) return i;
  }
  return undefined;
}

/** The end of the block of line i: the next line indented no deeper than it. */
function blockEnd(lines: readonly Line[], i: number): number {
  const indent = lines[i]?.indent ?? 0;
  let j = i + 1;
  while (j < lines.length && (lines[j]?.indent ?? 0) > indent) j++;
  return j;
}

type Schema = z.ZodType;
interface Def { type: string; innerType?: Schema; in?: Schema; out?: Schema; shape?: Record<string, Schema>; element?: Schema }
const defOf = (s: Schema) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The object shape a schema stands for (through defaults, optionals, pipes and lists), if any. */
function shapeOf(schema: Schema): Record<string, Schema> | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': return def.shape;
    case 'default': case 'prefault': case 'optional': case 'nullable': return def.innerType && shapeOf(def.innerType);
    case 'pipe': return (def.out && shapeOf(def.out)) ?? (def.in && shapeOf(def.in));
    case 'array': return def.element && shapeOf(def.element);
    default: return undefined;
  }
}

/** Every key path of the schema, each with whether the file has it under its parent. */
function missingKeys(schema: Schema, lines: readonly Line[], from: number, to: number, path: readonly string[]): string[] {
  const missing: string[] = [];
  for (const [key, child] of Object.entries(shapeOf(schema) ?? {})) {
    const at = findKey(lines, from, to, key);
    const here = [...path, key];
    if (at === undefined) { missing.push(here.join('.')); continue; }
    if (shapeOf(child)) missing.push(...missingKeys(child, lines, at, blockEnd(lines, at), here));
  }
  return missing;
}

test('config.example.yaml shows every key of the config schema, each under its parent', () => {
  const lines = linesOf(readFileSync(new URL('../../config.example.yaml', import.meta.url), 'utf8'));
  assert.deepEqual(missingKeys(ConfigSchema, lines, 0, lines.length, []), []);
});

test('the walk finds what it should: a key left out, or put under another parent, is missing', () => {
  const lines = linesOf('bus:\n  driver: memory\n  # stateFile: ./x\nhttp:\n  redis:\n    url: x\n');
  const missing = missingKeys(ConfigSchema, lines, 0, lines.length, []);
  assert.ok(!missing.includes('bus.driver') && !missing.includes('bus.stateFile'), missing.join(' '));
  assert.ok(missing.includes('bus.redis'), 'redis is under http, not bus');
  assert.ok(missing.includes('mtproto'));
  const flow = linesOf('mtproto:\n  accounts:\n  #  - { id: 5001, bot: true }\n');
  const accounts = missingKeys(ConfigSchema, flow, 0, flow.length, []).filter((p) => p.startsWith('mtproto.accounts.'));
  assert.ok(!accounts.includes('mtproto.accounts.id') && !accounts.includes('mtproto.accounts.bot'), accounts.join(' '));
  assert.ok(accounts.includes('mtproto.accounts.phone'));
});
