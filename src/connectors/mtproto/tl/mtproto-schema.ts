// The MTProto service schema, parsed once from mtproto.tl beside this file.
import { readFileSync } from 'node:fs';
import { parseTlSchema, type TlSchema } from './schema.ts';

let cached: TlSchema | undefined;

export function mtprotoSchemaText(): string {
  return readFileSync(new URL('./mtproto.tl', import.meta.url), 'utf8');
}

export function mtprotoSchema(): TlSchema {
  return (cached ??= parseTlSchema(mtprotoSchemaText()));
}
