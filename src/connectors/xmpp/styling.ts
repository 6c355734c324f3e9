import type { Span } from '../../core/event.ts';

/**
 * XEP-0393 Message Styling <-> canonical text + spans.
 *
 * Inbound, the styling directives are taken out of the text (`*bold*` becomes "bold" with a bold
 * span, "> quoted" becomes "quoted" with a quote span, a ``` fence becomes a pre span), so the
 * canonical text reads naturally on networks that format with entities. Outbound, spans become
 * directives; what styling cannot express degrades to readable text (a link shows its URL, a
 * mention or spoiler is its plain text). Styling has no escape character, so every rendering is
 * checked by parsing it back: if it would not read back as intended (the text itself contains
 * directives), the plain text is sent with XEP-0393's <unstyled/> hint instead.
 *
 * All offsets are UTF-16 code units, as in canonical events. The parser is O(n log n) in the
 * body length (closing directives are found by binary search), so a hostile body cannot make it
 * quadratic.
 */

export interface StyledText {
  text: string;
  spans: Span[];
}

type InlineType = 'bold' | 'italic' | 'strike' | 'code';
const DIRECTIVE_TYPE: Readonly<Record<string, InlineType>> = { '*': 'bold', '_': 'italic', '~': 'strike', '`': 'code' };
const TYPE_DIRECTIVE: Readonly<Record<InlineType, string>> = { bold: '*', italic: '_', strike: '~', code: '`' };
const WHITESPACE = /^[\p{White_Space}\p{Z}]$/u;
const isWhitespace = (ch: string | undefined): boolean => ch !== undefined && WHITESPACE.test(ch);

const TYPE_ORDER: readonly Span['type'][] = ['quote', 'pre', 'bold', 'italic', 'strike', 'code', 'link', 'mention', 'spoiler'];
/** The one order spans are listed in (outer before inner), so two span lists can be compared. */
export function sortSpans(spans: Span[]): Span[] {
  return spans.sort((a, b) => a.offset - b.offset || b.length - a.length || TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type));
}

// ---------------------------------------------------------------- parsing

/** First element of the sorted list greater than x (binary search), or undefined. */
function firstAfter(sorted: readonly number[], x: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

/** Builds output text from one line: the source minus the directive characters that matched. */
class LineOut {
  text = '';
  readonly spans: Span[] = [];
}

/**
 * Span parsing of one line (§5.2): lazily matched pairs; an opening directive at the line start,
 * after whitespace or right after another opening directive, not followed by whitespace; a closing
 * one not preceded by whitespace; some text between. A directive doubled ("**", "****") is text, as
 * in the XEP's examples. Preformatted spans hold no child spans.
 */
function parseLine(line: string): StyledText {
  // Candidate closing positions per directive (not preceded by whitespace, not at index 0).
  const closings: Record<string, number[]> = { '*': [], '_': [], '~': [], '`': [] };
  for (let i = 1; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch in closings && !isWhitespace(line[i - 1]) && line[i - 1] !== ch) closings[ch]?.push(i);
  }
  const out = new LineOut();
  const walk = (start: number, end: number, afterOpening: boolean): void => {
    let i = start;
    let prevWasOpening = afterOpening;
    while (i < end) {
      const ch = line[i] as string;
      const type = DIRECTIVE_TYPE[ch];
      const canOpen = type !== undefined && (i === 0 || isWhitespace(line[i - 1]) || prevWasOpening || (i === start && afterOpening))
        && i + 1 < end && !isWhitespace(line[i + 1]) && line[i + 1] !== ch;
      if (canOpen) {
        const close = firstAfter(closings[ch] ?? [], i + 1);
        if (close !== undefined && close < end) {
          const offset = out.text.length;
          if (type === 'code') out.text += line.slice(i + 1, close);
          else walk(i + 1, close, true);
          const length = out.text.length - offset;
          if (length > 0) out.spans.push({ type, offset, length });
          i = close + 1;
          prevWasOpening = false;
          continue;
        }
      }
      out.text += ch;
      prevWasOpening = false;
      i++;
    }
  };
  walk(0, line.length, false);
  return { text: out.text, spans: out.spans };
}

/** Block parsing (§5.1) of a list of lines: quotations (recursive), preformatted blocks, plain lines. */
function parseBlocks(lines: readonly string[]): StyledText {
  let text = '';
  const spans: Span[] = [];
  const append = (part: StyledText, first: boolean): void => {
    if (!first) text += '\n';
    const base = text.length;
    text += part.text;
    for (const s of part.spans) spans.push({ ...s, offset: s.offset + base });
  };
  let i = 0;
  let first = true;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.startsWith('>')) {
      const inner: string[] = [];
      while (i < lines.length && (lines[i] as string).startsWith('>')) {
        const rest = (lines[i] as string).slice(1);
        // "Lines inside the block quote MUST have the first leading whitespace character trimmed."
        inner.push(rest.length > 0 && isWhitespace(rest[0]) ? rest.slice(rest.codePointAt(0)! > 0xffff ? 2 : 1) : rest);
        i++;
      }
      const child = parseBlocks(inner);
      const base = text.length + (first ? 0 : 1);
      append(child, first);
      if (child.text.length > 0) spans.push({ type: 'quote', offset: base, length: child.text.length });
    } else if (line.startsWith('```')) {
      const language = line.slice(3).trim();
      const body: string[] = [];
      i++;
      while (i < lines.length && lines[i] !== '```') body.push(lines[i++] as string);
      if (i < lines.length) i++; // the closing fence
      const content = body.join('\n');
      const base = text.length + (first ? 0 : 1);
      append({ text: content, spans: [] }, first);
      if (content.length > 0) {
        const span: Span = { type: 'pre', offset: base, length: content.length };
        if (language.length > 0) span.language = language.slice(0, 64);
        spans.push(span);
      }
    } else {
      append(parseLine(line), first);
      i++;
    }
    first = false;
  }
  return { text, spans };
}

/**
 * Parses a styled body into canonical text and spans (directives removed). A body that would
 * style to no text at all (">", an empty ``` block) is taken as plain text: the sender wrote
 * something, and a message without text would be refused and lost.
 */
export function parseStyling(body: string): StyledText {
  const parsed = parseBlocks(body.split('\n'));
  if (parsed.text.length === 0 && body.length > 0) return { text: body, spans: [] };
  return { text: parsed.text, spans: sortSpans(parsed.spans) };
}

// ---------------------------------------------------------------- rendering

export interface RenderedStyling {
  /** The <body> to send. */
  body: string;
  /** Send <unstyled xmlns='urn:xmpp:styling:0'/>: the body is plain text that would otherwise read as styled. */
  unstyled: boolean;
  /** What a XEP-0393 reader gets back from body: the degraded text and the spans that survived. */
  text: string;
  spans: Span[];
}

interface LineRange { start: number; end: number }

function lineRanges(text: string): LineRange[] {
  const ranges: LineRange[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl === -1) { ranges.push({ start, end: text.length }); return ranges; }
    ranges.push({ start, end: nl });
    start = nl + 1;
  }
}

/** Degrades what styling cannot express: a link shows its URL after its text; mentions and spoilers become plain text. */
function degrade(text: string, spans: readonly Span[]): StyledText {
  const links = spans.filter((s) => s.type === 'link' && s.url !== undefined && text.slice(s.offset, s.offset + s.length) !== s.url)
    .sort((a, b) => a.offset + a.length - (b.offset + b.length));
  const inserts: { at: number; add: string }[] = links.map((l) => ({ at: l.offset + l.length, add: ` <${l.url}>` }));
  const shift = (pos: number, isEnd: boolean): number => {
    let d = 0;
    for (const ins of inserts) if (ins.at < pos || (ins.at === pos && !isEnd)) d += ins.add.length;
    return d;
  };
  let out = '';
  let last = 0;
  for (const ins of inserts) { out += text.slice(last, ins.at) + ins.add; last = ins.at; }
  out += text.slice(last);
  const kept: Span[] = [];
  for (const s of spans) {
    if (s.type === 'link' || s.type === 'mention' || s.type === 'spoiler') continue;
    const offset = s.offset + shift(s.offset, false);
    const end = s.offset + s.length + shift(s.offset + s.length, true);
    kept.push({ ...s, offset, length: end - offset });
  }
  return { text: out, spans: kept };
}

/**
 * Brings spans into shapes styling can express: inline spans split at line ends and trimmed of
 * edge whitespace; quotes widened to whole lines; pre over whole lines stays a block, pre inside
 * lines becomes code; spans inside a pre block, crossing another span, nested in their own type,
 * or starting where no opening directive may stand are dropped (their text stays).
 */
function normalise(text: string, spans: readonly Span[]): Span[] {
  const lines = lineRanges(text);
  const lineOf = (pos: number): number => {
    let lo = 0;
    let hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((lines[mid] as LineRange).start <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // The last line a block span covers. A block that ends right after a line end, where an empty
  // line follows (the end of the text, or another line end), holds that empty line: that is how
  // parsing reads "> a\n> " (quote "a\n") and an unclosed fence before a final line end, so a
  // block read from a body renders back to the same body.
  const lastLine = (s: Span): LineRange => {
    const end = s.offset + s.length;
    const emptyAfter = text[end - 1] === '\n' && (end === text.length || text[end] === '\n');
    return lines[lineOf(emptyAfter ? end : Math.max(s.offset, end - 1))] as LineRange;
  };
  const blocks: Span[] = [];
  const inline: Span[] = [];
  for (const s of spans) {
    const end = s.offset + s.length;
    if (s.type === 'quote') {
      const first = lines[lineOf(s.offset)] as LineRange;
      const last = lastLine(s);
      blocks.push({ type: 'quote', offset: first.start, length: last.end - first.start });
      continue;
    }
    const l0 = lines[lineOf(s.offset)] as LineRange;
    const l1 = s.type === 'pre' ? lastLine(s) : lines[lineOf(Math.max(s.offset, end - 1))] as LineRange;
    if (s.type === 'pre' && s.offset === l0.start && end === l1.end) {
      const pre: Span = { type: 'pre', offset: s.offset, length: s.length };
      const language = s.language?.replace(/[\s`]+/g, ' ').trim();
      if (language) pre.language = language.slice(0, 64);
      blocks.push(pre);
      continue;
    }
    const type: InlineType | undefined = s.type === 'pre' ? 'code' : (s.type in TYPE_DIRECTIVE ? s.type as InlineType : undefined);
    if (type === undefined) continue;
    for (let li = lineOf(s.offset); li < lines.length && (lines[li] as LineRange).start < end; li++) {
      const line = lines[li] as LineRange;
      let a = Math.max(s.offset, line.start);
      let b = Math.min(end, line.end);
      while (a < b && isWhitespace(text[a])) a++;
      while (b > a && isWhitespace(text[b - 1])) b--;
      if (b > a) inline.push({ type, offset: a, length: b - a });
    }
  }
  // Quote blocks must not overlap a pre block partially; pre blocks must not overlap each other.
  // Of two starting at one place the longer (enclosing) one is kept, whatever order the spans
  // came in: another network may list the same spans in another order (found by the round-trip
  // property test: "😀\n" with pre 0+2 and pre 0+3).
  const pres = blocks.filter((b) => b.type === 'pre').sort((a, b) => a.offset - b.offset || b.length - a.length);
  const keptPres: Span[] = [];
  for (const p of pres) {
    const prev = keptPres.at(-1);
    if (!prev || prev.offset + prev.length < p.offset) keptPres.push(p);
  }
  const inPre = (s: Span): boolean => keptPres.some((p) => s.offset < p.offset + p.length && p.offset < s.offset + s.length);
  const quotes = blocks.filter((b) => b.type === 'quote' && keptPres.every((p) => p.offset + p.length <= b.offset || b.offset + b.length <= p.offset
    || (b.offset <= p.offset && p.offset + p.length <= b.offset + b.length)));

  // Inline nesting: keep a span only if it nests properly in the kept ones, is not inside code or
  // its own type, and its opening directive may stand where it starts.
  sortSpans(inline);
  const kept: Span[] = [];
  const stack: Span[] = [];
  for (const s of inline) {
    if (inPre(s)) continue;
    while (stack.length > 0 && (stack.at(-1) as Span).offset + (stack.at(-1) as Span).length <= s.offset) stack.pop();
    const parent = stack.at(-1);
    if (parent && s.offset + s.length > parent.offset + parent.length) continue; // crosses its parent
    if (stack.some((p) => p.type === s.type || p.type === 'code')) continue;
    const before = text[s.offset - 1];
    const opensHere = s.offset === 0 || before === '\n' || isWhitespace(before) || (parent !== undefined && parent.offset === s.offset);
    if (!opensHere) continue;
    kept.push(s);
    stack.push(s);
  }
  // A quote's line prefix counts as the line start for the spans in it.
  return sortSpans([...quotes, ...keptPres, ...kept]);
}

function sameSpans(a: readonly Span[], b: readonly Span[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((s, i) => {
    const t = b[i] as Span;
    return s.type === t.type && s.offset === t.offset && s.length === t.length && (s.type !== 'pre' || (s.language ?? '') === (t.language ?? ''));
  });
}

function toBody(text: string, spans: readonly Span[]): string {
  const lines = lineRanges(text);
  const quotes = spans.filter((s) => s.type === 'quote');
  const pres = spans.filter((s) => s.type === 'pre');
  const inline = spans.filter((s) => s.type !== 'quote' && s.type !== 'pre');
  // Directive characters to insert at each position: closings first (inner before outer), then openings (outer before inner).
  const opens = new Map<number, string>();
  const closes = new Map<number, string>();
  for (const s of inline) { // sorted outer-first
    const d = TYPE_DIRECTIVE[s.type as InlineType];
    opens.set(s.offset, (opens.get(s.offset) ?? '') + d);
    closes.set(s.offset + s.length, d + (closes.get(s.offset + s.length) ?? ''));
  }
  const out: string[] = [];
  for (const line of lines) {
    const depth = quotes.filter((q) => q.offset <= line.start && line.end <= q.offset + q.length && !(q.length === 0)).length;
    const prefix = depth > 0 ? `${'>'.repeat(depth)} ` : '';
    const preStart = pres.find((p) => p.offset === line.start);
    const preEnd = pres.find((p) => p.offset + p.length === line.end && p.offset <= line.start);
    if (preStart) out.push(`${prefix}\`\`\`${preStart.language ?? ''}`);
    let body = '';
    for (let i = line.start; i <= line.end; i++) {
      body += (closes.get(i) ?? '') + (i < line.end ? (opens.get(i) ?? '') + (text[i] as string) : '');
    }
    out.push(prefix + body);
    if (preEnd) out.push(`${prefix}\`\`\``);
  }
  return out.join('\n');
}

/** Renders canonical text and spans as a XEP-0393 body (see RenderedStyling). */
export function renderStyling(text: string, spans: readonly Span[] = []): RenderedStyling {
  const degraded = degrade(text, spans);
  const wanted = normalise(degraded.text, degraded.spans);
  if (wanted.length > 0) {
    const body = toBody(degraded.text, wanted);
    const back = parseStyling(body);
    if (back.text === degraded.text && sameSpans(back.spans, wanted)) return { body, unstyled: false, text: back.text, spans: back.spans };
  }
  // Plain: exact text; the unstyled hint only when a reader would otherwise style it.
  const plain = parseStyling(degraded.text);
  const unstyled = plain.text !== degraded.text || plain.spans.length > 0;
  return { body: degraded.text, unstyled, text: degraded.text, spans: [] };
}
