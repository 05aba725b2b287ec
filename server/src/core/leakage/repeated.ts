/**
 * Candidate spans for `repeated-boilerplate`. A template a generator leaves behind wraps the
 * content: it is a prefix or a suffix of the text. So each text contributes its first and last two
 * lines (and, for long lines, their first / last sentence) of at least `minLength` characters;
 * the dataset rule then counts equal spans across records. Bounded work and memory per record.
 */

export interface SpanCandidate {
  /** Decoded start / end of the span in its text. */
  start: number;
  end: number;
  /** Decoded range to delete to strip it (the span plus one separator). */
  delStart: number;
  delEnd: number;
  hash: string;
}

const EDGE_LINES = 2;

export function spanCandidates(text: string, minLength: number): SpanCandidate[] {
  if (text.length < minLength) return [];
  const lines: { start: number; end: number }[] = [];
  let from = 0;
  for (;;) {
    const nl = text.indexOf('\n', from);
    const end = nl < 0 ? text.length : nl;
    const t = trimRange(text, from, end);
    if (t.end > t.start) lines.push(t);
    if (nl < 0) break;
    from = nl + 1;
  }
  const picked = new Set<number>();
  for (let i = 0; i < Math.min(EDGE_LINES, lines.length); i++) picked.add(i);
  for (let i = Math.max(0, lines.length - EDGE_LINES); i < lines.length; i++) picked.add(i);
  const out: SpanCandidate[] = [];
  const add = (start: number, end: number): void => {
    if (end - start < minLength) return;
    if (out.some((c) => c.start === start && c.end === end)) return;
    const del = deletion(text, start, end);
    out.push({ start, end, delStart: del.start, delEnd: del.end, hash: hashOf(text, start, end) });
  };
  for (const i of [...picked].sort((a, b) => a - b)) {
    const line = lines[i]!;
    add(line.start, line.end);
    if (line.end - line.start >= 2 * minLength) {
      const first = firstSentence(text, line.start, line.end);
      if (first) add(line.start, first);
      const last = lastSentence(text, line.start, line.end);
      if (last) add(last, line.end);
    }
  }
  return out;
}

function trimRange(text: string, start: number, end: number): { start: number; end: number } {
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return { start, end };
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10 || c === 0x3000;

/** End of the first sentence of the line (after its terminator), if the line has more than one. */
function firstSentence(text: string, start: number, end: number): number | undefined {
  const re = /[.!?。！？](?=\s|$)/g;
  re.lastIndex = start;
  const slice = text.slice(0, end);
  const m = re.exec(slice);
  if (!m || m.index + 1 >= end) return undefined;
  return m.index + 1;
}

/** Start of the last sentence of the line, if the line has more than one. */
function lastSentence(text: string, start: number, end: number): number | undefined {
  const body = text.slice(start, end);
  const re = /[.!?。！？]\s+(?=\S)/g;
  let at: number | undefined;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    if (m.index + m[0].length < body.length - 1) at = start + m.index + m[0].length;
  }
  return at;
}

/**
 * What to delete to strip a span: a span that starts its line takes the whitespace after it (the
 * line break), or before it when it ends the text; a span inside a line (a last sentence) takes
 * the spaces before it.
 */
function deletion(text: string, start: number, end: number): { start: number; end: number } {
  let s = start;
  while (s > 0 && (text.charCodeAt(s - 1) === 32 || text.charCodeAt(s - 1) === 9)) s--;
  const startsLine = s === 0 || text.charCodeAt(s - 1) === 10;
  if (!startsLine) return { start: s, end };
  let e = end;
  while (e < text.length && isSpace(text.charCodeAt(e))) e++;
  if (e < text.length || start === 0) return { start, end: e };
  s = start;
  while (s > 0 && isSpace(text.charCodeAt(s - 1))) s--;
  return { start: s, end };
}

/** Two 32-bit FNV-1a variants over the span, folded into 52 bits: collision-safe for millions of spans. */
function hashOf(text: string, start: number, end: number): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ (end - start);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return ((a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff)).toString(36);
}
