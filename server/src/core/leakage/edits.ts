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

/**
 * Finds decoded [start, end) of `decoded` in the raw record without a syntax tree: the span's JSON
 * encoding must occur exactly once in the record. Undefined when it does not (other escaping,
 * or the same text twice); the caller then falls back to the exact, slower path.
 */
export function quickRange(recordText: string, decoded: string, start: number, end: number): OffsetRange | undefined {
  const encoded = encodeJsonStringContent(decoded.slice(start, end));
  if (encoded.length === 0) return undefined;
  const at = recordText.indexOf(encoded);
  if (at < 0 || recordText.indexOf(encoded, at + 1) >= 0) return undefined;
  return { start: at, end: at + encoded.length };
}
