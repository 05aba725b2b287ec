import { encodeJsonStringContent, rawOffsetInString, RecordLocator, stringEnd } from '../records/locate';
import type { JsonPath, OffsetRange, RecordEdit } from '../types';
import type { TextEdit } from './prompts';

/**
 * Turns edits of a decoded JSON string into minimal edits of the record's raw text: offsets map
 * through the string's escapes and the new text is JSON-escaped, so the rest of the line stays
 * byte-for-byte as it was. Strings are found by a scan along their path (no syntax tree).
 */
export class StringEditor {
  private locator: RecordLocator | undefined;

  constructor(private readonly recordText: string) {}

  /** Offset of the opening quote of the string at `path` holding `decoded`, if there is one. */
  literalOffset(path: JsonPath, decoded: string): number | undefined {
    this.locator ??= new RecordLocator(this.recordText);
    return this.locator.stringLiteral(path, decoded);
  }

  /** Raw record range of decoded [start, end) in the string at `path`. */
  range(path: JsonPath, decoded: string, start: number, end: number): OffsetRange | undefined {
    const at = this.literalOffset(path, decoded);
    if (at === undefined) return undefined;
    return { start: rawOffsetInString(this.recordText, at, start), end: rawOffsetInString(this.recordText, at, end) };
  }

  edit(path: JsonPath, decoded: string, e: TextEdit): RecordEdit | undefined {
    const r = this.range(path, decoded, e.start, e.end);
    return r && { start: r.start, end: r.end, newText: encodeJsonStringContent(e.newText) };
  }

  edits(path: JsonPath, decoded: string, es: readonly TextEdit[]): RecordEdit[] | undefined {
    const out: RecordEdit[] = [];
    for (const e of es) {
      const r = this.edit(path, decoded, e);
      if (!r) return undefined;
      out.push(r);
    }
    return out;
  }
}

/** How a file escapes its strings: as JSON.stringify does, or with every non-ASCII character as `\\uXXXX` (Python's default). */
export type Escaping = 'js' | 'ascii';

function escapeAs(s: string, escaping: Escaping): string {
  const js = encodeJsonStringContent(s);
  return escaping === 'js' ? js : js.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const HEAD = 48;
const TAIL = 16;

/**
 * Finds where the string holding `decoded` sits in the raw record, without a syntax tree and
 * without encoding it: its quoted head must occur exactly once, and the first quoted tail after
 * it must close the literal (no unescaped quote in between). Raw offsets are then counted from
 * the start for indexes in the first half and from the end for the second: spans near either end
 * cost only their distance to it. Undefined when the file escapes differently or the head is not
 * unique; the caller then takes the exact path.
 */
export function quickLiteral(recordText: string, decoded: string): ((i: number) => number) | undefined {
  const n = decoded.length;
  for (const escaping of /[^\u0000-\u007f]/.test(decoded) ? (['js', 'ascii'] as const) : (['js'] as const)) {
    if (n <= HEAD) {
      const needle = `"${escapeAs(decoded, escaping)}"`;
      const found = recordText.indexOf(needle);
      if (found < 0) continue;
      if (recordText.indexOf(needle, found + 1) >= 0) return undefined;
      return counter(decoded, escaping, found + 1, found + needle.length - 1);
    }
    const head = `"${escapeAs(decoded.slice(0, HEAD), escaping)}`;
    const found = recordText.indexOf(head);
    if (found < 0) continue;
    if (recordText.indexOf(head, found + 1) >= 0) return undefined;
    const tail = `${escapeAs(decoded.slice(n - TAIL), escaping)}"`;
    const tailAt = recordText.indexOf(tail, found + head.length);
    if (tailAt < 0) continue;
    const end = tailAt + tail.length - 1;
    // `found` is the opening quote: the literal must end exactly at `end`.
    if (stringEnd(recordText, found) !== end + 1) continue;
    return counter(decoded, escaping, found + 1, end);
  }
  return undefined;
}

/**
 * Decoded index → raw offset, for content at raw [at, end): counts the escapes between the
 * nearest index already known on the same side (start side for the first half, end side for the
 * second) and `i`. Spans are asked for in order, so each character is looked at about once, and
 * only the parts near the edges are.
 */
function counter(decoded: string, escaping: Escaping, at: number, end: number): (i: number) => number {
  const ascii = escaping === 'ascii';
  const head: [number, number][] = [[0, at]];
  const tail: [number, number][] = [[decoded.length, end]];
  return (i) => {
    if (i <= decoded.length / 2) {
      let best = head[0]!;
      for (const p of head) if (p[0] <= i && p[0] > best[0]) best = p;
      const raw = best[1] + (i - best[0]) + escapeExtra(decoded, best[0], i, ascii);
      head.push([i, raw]);
      return raw;
    }
    let best = tail[0]!;
    for (const p of tail) if (p[0] >= i && p[0] < best[0]) best = p;
    const raw = best[1] - (best[0] - i) - escapeExtra(decoded, i, best[0], ascii);
    tail.push([i, raw]);
    return raw;
  };
}

/** How many more raw characters than decoded ones the escapes of decoded [from, to) take. */
function escapeExtra(s: string, from: number, to: number, ascii: boolean): number {
  let extra = 0;
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if (c < 128) {
      if (c === 34 || c === 92) extra += 1;
      else if (c < 32) extra += c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 1 : 5;
    } else if (ascii) extra += 5;
    else if (c >= 0xd800 && c <= 0xdfff) {
      // JSON.stringify keeps a surrogate pair as is and escapes a lone surrogate.
      const paired = c <= 0xdbff ? k + 1 < s.length && (s.charCodeAt(k + 1) & 0xfc00) === 0xdc00 : k > 0 && (s.charCodeAt(k - 1) & 0xfc00) === 0xd800;
      if (!paired) extra += 5;
    }
  }
  return extra;
}
