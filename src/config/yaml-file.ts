import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import type { ConfigIssue } from './errors.ts';
import { substituteEnv, type Env } from './env.ts';

/** A parsed YAML file that still knows where each value came from, so errors can name the line. */
export interface YamlSource {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
}

export type Parsed<T> =
  | { readonly ok: true; readonly value: T; readonly source: YamlSource }
  | { readonly ok: false; readonly issues: ConfigIssue[] };

type PathSegment = string | number;

/** Reads and parses one YAML file, with `${ENV}` substitution in its string values. */
export async function readYamlFile(file: string, env: Env): Promise<Parsed<unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, issues: [{ file, line: 0, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  return parseYamlText(file, text, env);
}

export function parseYamlText(file: string, text: string, env: Env): Parsed<unknown> {
  const lines = new LineCounter();
  // uniqueKeys (the default) makes a key written twice an error instead of a silent override.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const issues: ConfigIssue[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line,
    path: '',
    message: `YAML syntax: ${e.message.split('\n')[0] ?? e.code}`,
  }));
  if (issues.length > 0) return { ok: false, issues };
  const source: YamlSource = { file, doc, lines };
  issues.push(...substituteInDocument(source, env));
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown, source };
}

function substituteInDocument(source: YamlSource, env: Env): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(source.doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string') return;
      const result = substituteEnv(node.value, env);
      if (!result.ok) {
        issues.push({
          file: source.file,
          line: lineOfNode(source, node),
          path: pathOf(path, key),
          message: `environment variable ${result.missing.join(', ')} is not set (set it, or write \${NAME:-default})`,
        });
        return;
      }
      if (!result.changed) return;
      // An unquoted `${PORT}` that yields a number or boolean becomes one, so numeric settings can
      // come from the environment too; quote it ("${X}") to keep a string.
      node.value = node.type === 'PLAIN' ? plainScalarValue(result.value) : result.value;
    },
  });
  return issues;
}

function plainScalarValue(text: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

/** Dotted field path of a node the visitor is at, from its ancestors (documents, maps, pairs, sequences). */
function pathOf(ancestors: readonly unknown[], key: number | 'key' | 'value' | null): string {
  const parts: string[] = [];
  ancestors.forEach((node, i) => {
    const child: unknown = ancestors[i + 1];
    if (child === undefined) return;
    if (isSeq(node)) parts.push(String(node.items.findIndex((item) => item === child)));
    if (isMap(node) && isPair(child) && isScalar(child.key)) parts.push(String(child.key.value));
  });
  if (typeof key === 'number' && isSeq(ancestors[ancestors.length - 1])) parts.push(String(key));
  return parts.join('.');
}

function lineOfNode(source: YamlSource, node: { range?: [number, number, number] | null }): number {
  const offset = node.range?.[0];
  return offset === undefined ? 0 : source.lines.linePos(offset).line;
}

/**
 * The line of the deepest node that exists along `path` (a missing field points at its parent
 * map). With `atKey`, points at the key of the last segment instead of its value (unknown fields).
 */
export function lineAt(source: YamlSource, path: readonly PathSegment[], atKey = false): number {
  let node: unknown = source.doc.contents;
  let line = node ? lineOfNode(source, node as Node) : 1;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair && atKey && i === path.length - 1) return lineOfNode(source, pair.key as Node);
      next = pair?.value;
      if (pair && next === null) return lineOfNode(source, pair.key as Node); // `field:` with no value
    } else if (isSeq(node)) {
      next = node.items[Number(segment)];
    }
    if (next === undefined || next === null) break;
    node = next;
    line = lineOfNode(source, node as Node) || line;
  }
  return line || 1;
}

/** Validates a parsed file with a zod schema; each problem becomes an issue at its line. */
export function validateWith<S extends z.ZodType>(schema: S, value: unknown, source: YamlSource): { ok: true; data: z.output<S> } | { ok: false; issues: ConfigIssue[] } {
  const result = schema.safeParse(value ?? {});
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, issues: zodIssues(result.error, source) };
}

export function zodIssues(error: z.ZodError, source: YamlSource, prefix: readonly PathSegment[] = []): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...path, key];
        issues.push({ file: source.file, line: lineAt(source, keyPath, true), path: keyPath.join('.'), message: 'unknown field' });
      }
      continue;
    }
    issues.push({ file: source.file, line: lineAt(source, path), path: path.join('.'), message: issue.message });
  }
  return issues;
}
