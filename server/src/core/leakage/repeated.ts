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
/** Longer spans are not hashed whole (a template is a sentence or a paragraph, not a page); their first / last sentence still is. */
const MAX_SPAN = 2000;

export function spanCandidates(text: string, minLength: number): SpanCandidate[] {
  if (text.length < minLength) return [];
  const out: SpanCandidate[] = [];
  const add = (start: number, end: number, hash: number): void => {
    const del = deletion(text, start, end);
    out.push({ start, end, delStart: del.start, delEnd: del.end, hash: `${(end - start).toString(36)}.${hash.toString(36)}` });
  };
  for (const line of edgeLines(text)) {
    const length = line.end - line.start;
    if (length < minLength) continue;
    // One pass hashes the line and, on the way, its first sentence (a prefix of it).
    const first = length >= 2 * minLength ? firstSentenceEnd(text, line.start, line.end) : undefined;
    const hashTo = Math.min(line.end, line.start + MAX_SPAN);
    let h = FNV_OFFSET;
    for (let i = line.start; i < hashTo; i++) {
      h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
      if (i + 1 === first && first - line.start >= minLength) add(line.start, first, h >>> 0);
    }
    if (length <= MAX_SPAN && !out.some((c) => c.start === line.start && c.end === line.end)) add(line.start, line.end, h >>> 0);
    const last = length >= 2 * minLength ? lastSentenceStart(text, line.start, line.end) : undefined;
    if (last !== undefined && line.end - last >= minLength) add(last, line.end, hashOf(text, last, line.end));
  }
  return out;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The first and last `EDGE_LINES` non-blank lines, trimmed, in order; the middle of the text is never scanned. */
function edgeLines(text: string): { start: number; end: number }[] {
  const head: { start: number; end: number }[] = [];
  let from = 0;
  while (head.length < EDGE_LINES && from <= text.length) {
    const nl = text.indexOf('\n', from);
    const t = trimRange(text, from, nl < 0 ? text.length : nl);
    if (t.end > t.start) head.push(t);
    if (nl < 0) {
      from = text.length + 1;
      break;
    }
    from = nl + 1;
  }
  const tail: { start: number; end: number }[] = [];
  let to = text.length;
  while (tail.length < EDGE_LINES && to >= from) {
    const nl = text.lastIndexOf('\n', to - 1);
    const lineStart = Math.max(nl + 1, from);
    const t = trimRange(text, lineStart, to);
    if (t.end > t.start) tail.unshift(t);
    if (nl < from) break;
    to = nl;
  }
  return [...head, ...tail];
}

function trimRange(text: string, start: number, end: number): { start: number; end: number } {
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return { start, end };
}

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 10 || c === 0x3000;
/** . ! ? and their CJK forms. */
const isStop = (c: number): boolean => c === 46 || c === 33 || c === 63 || c === 0x3002 || c === 0xff01 || c === 0xff1f;

/** A terminator that ends a sentence: Latin ones before a space, CJK ones anywhere. */
function endsSentence(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return isStop(c) && (c > 127 || isSpace(text.charCodeAt(i + 1)));
}

/** End of the line's first sentence (after its terminator), when the line has more than one; looks at most `MAX_SPAN` characters in. */
function firstSentenceEnd(text: string, start: number, end: number): number | undefined {
  const limit = Math.min(end - 1, start + MAX_SPAN);
  for (let i = start; i < limit; i++) {
    if (endsSentence(text, i)) return i + 1;
  }
  return undefined;
}

/** Start of the line's last sentence, when the line has more than one; looks at most `MAX_SPAN` characters back. */
function lastSentenceStart(text: string, start: number, end: number): number | undefined {
  const limit = Math.max(start, end - MAX_SPAN);
  // Skip the line's own final terminator, then find the previous one followed by a space.
  for (let i = end - 2; i >= limit; i--) {
    if (endsSentence(text, i)) {
      let s = i + 1;
      while (s < end && isSpace(text.charCodeAt(s))) s++;
      return s < end ? s : undefined;
    }
  }
  return undefined;
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

/** 32-bit FNV-1a over the span; the key adds the length, so equal keys are equal spans in practice. */
function hashOf(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}
