import { encodeJsonStringContent, rawOffsetInString, RecordLocator } from '../records/locate';
import type { JsonPath, OffsetRange, RecordEdit } from '../types';
import type { TextEdit } from './prompts';

/**
 * Turns edits of a decoded JSON string into minimal edits of the record's raw text: offsets map
 * through the string's escapes and the new text is JSON-escaped, so the rest of the line stays
 * byte-for-byte as it was. The syntax tree is built only when a record has something to fix.
 */
export class StringEditor {
  private locator: RecordLocator | undefined;

  constructor(private readonly recordText: string) {}

  /** Offset of the opening quote of the string at `path` holding `decoded`, if there is one. */
  literalOffset(path: JsonPath, decoded: string): number | undefined {
    this.locator ??= new RecordLocator(this.recordText);
    const node = this.locator.node(path);
    if (!node || node.type !== 'string' || node.value !== decoded) return undefined;
    return node.offset;
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

/** Characters the escaping writes as more than one raw character (paired surrogates stay raw in 'js'). */
const ESCAPED: Record<Escaping, RegExp> = {
  js: /["\\\u0000-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
  ascii: /["\\\u0000-\u001f\u0080-\uffff]/g,
};

const HEAD = 48;
const TAIL = 16;

/**
 * Finds where the string holding `decoded` sits in the raw record, without a syntax tree: its
 * quoted head must occur exactly once, and the end computed from its escapes must close the
 * literal with the same tail. Returns a map from decoded indexes to raw record offsets; undefined
 * when the file escapes differently or the head is not unique (the caller takes the exact path).
 */
export function quickLiteral(recordText: string, decoded: string): ((i: number) => number) | undefined {
  const short = decoded.length <= HEAD;
  for (const escaping of /[^\u0000-\u007f]/.test(decoded) ? (['js', 'ascii'] as const) : (['js'] as const)) {
    const needle = `"${escapeAs(short ? decoded : decoded.slice(0, HEAD), escaping)}${short ? '"' : ''}`;
    const found = recordText.indexOf(needle);
    if (found < 0) continue;
    if (recordText.indexOf(needle, found + 1) >= 0) return undefined;
    const at = found + 1;
    const index = rawIndexer(decoded, escaping, at);
    const end = index(decoded.length);
    const tail = escapeAs(decoded.slice(Math.max(0, decoded.length - TAIL)), escaping);
    if (recordText.charCodeAt(end) !== 34 || recordText.slice(end - tail.length, end) !== tail) return undefined;
    return index;
  }
  return undefined;
}

/** Decoded index → raw offset for a string whose content starts at raw offset `at`: one scan for the escaped characters, then a binary search. */
function rawIndexer(decoded: string, escaping: Escaping, at: number): (i: number) => number {
  const re = ESCAPED[escaping];
  const pos: number[] = [];
  const extra: number[] = [];
  let total = 0;
  re.lastIndex = 0;
  for (let m = re.exec(decoded); m; m = re.exec(decoded)) {
    total += escapeAs(m[0], escaping).length - 1;
    pos.push(m.index);
    extra.push(total);
  }
  if (pos.length === 0) return (i) => at + i;
  return (i) => {
    let lo = 0;
    let hi = pos.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pos[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return at + i + (lo === 0 ? 0 : extra[lo - 1]!);
  };
}
