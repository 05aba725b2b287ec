import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import type { Issue, JsonPath, OffsetRange } from '../types';

/**
 * Resolves an issue's JSON path to a range in the record's text. Only called for records that
 * have issues: the hot path parses with `JSON.parse` and never builds a syntax tree.
 */
export class RecordLocator {
  private tree: Node | undefined;
  private parsed = false;

  constructor(private readonly text: string) {}

  locate(issue: Pick<Issue, 'path' | 'onKey' | 'span' | 'range'>): OffsetRange {
    if (issue.range) return clamp(issue.range, this.text.length);
    const node = this.node(issue.path);
    if (!node) return { start: 0, end: this.text.length };
    if (issue.onKey && node.parent?.type === 'property' && node.parent.children?.[0]) {
      const key = node.parent.children[0];
      return { start: key.offset, end: key.offset + key.length };
    }
    if (issue.span && node.type === 'string') {
      const start = rawOffsetInString(this.text, node.offset, issue.span.start);
      const end = rawOffsetInString(this.text, node.offset, issue.span.start + issue.span.length);
      return { start, end };
    }
    return { start: node.offset, end: node.offset + node.length };
  }

  /** The node at `path`, or the deepest existing ancestor (so a missing key points at its object). */
  node(path: JsonPath): Node | undefined {
    if (!this.parsed) {
      this.parsed = true;
      this.tree = parseTree(this.text, [], { disallowComments: true, allowTrailingComma: false });
    }
    if (!this.tree) return undefined;
    for (let n = path.length; n >= 0; n--) {
      const node = findNodeAtLocation(this.tree, path.slice(0, n));
      if (node) return node;
    }
    return this.tree;
  }
}

function clamp(r: OffsetRange, len: number): OffsetRange {
  const start = Math.max(0, Math.min(r.start, len));
  return { start, end: Math.max(start, Math.min(r.end, len)) };
}

/**
 * Maps an index in a decoded JSON string to the offset of the same character in the raw text.
 * `literalOffset` is the offset of the opening quote. Escapes (`\n`, `\"`, `\u00e9`) are one
 * decoded code unit each, so a token found in the decoded text lands on its exact source range.
 */
export function rawOffsetInString(text: string, literalOffset: number, decodedIndex: number): number {
  let raw = literalOffset + 1;
  let decoded = 0;
  while (decoded < decodedIndex && raw < text.length) {
    const c = text.charCodeAt(raw);
    if (c === 34) break;
    if (c === 92) raw += text.charCodeAt(raw + 1) === 117 ? 6 : 2;
    else raw += 1;
    decoded++;
  }
  return raw;
}

/** The raw JSON-string encoding of `s`, for quick fixes that replace text inside a string. */
export function encodeJsonStringContent(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
