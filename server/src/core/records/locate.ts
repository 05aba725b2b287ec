import { parseTree, type Node } from 'jsonc-parser';
import type { Issue, JsonPath, OffsetRange } from '../types';
import { LineIndex } from './positions';

/**
 * jsonc-parser recurses once per nesting level and overflows the stack somewhere past 5,000
 * levels; records nested deeper than this are located as a whole instead. (Python's json module
 * gives up at about 1,000 levels too, so no real dataset gets near it.)
 */
export const MAX_LOCATE_DEPTH = 1_000;

/** True when `text` nests arrays/objects deeper than `limit` (strings skipped). Stops early. */
export function exceedsNesting(text: string, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if ((c === 125 || c === 93) && depth > 0) depth--;
  }
  return false;
}

/**
 * Resolves an issue's JSON path to a range in the record's text. Only called for records that
 * have issues: the hot path parses with `JSON.parse` and never builds a syntax tree.
 */
export class RecordLocator {
  private tree: Node | undefined;
  private parsed = false;
  private lineIndex: LineIndex | undefined;
  /** Property lookups per object node, so locating many keys of one huge object stays linear. */
  private readonly properties = new Map<Node, Map<string, Node>>();

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

  /** Line starts of the record's text, for converting many offsets without rescanning. */
  get lines(): LineIndex {
    return (this.lineIndex ??= new LineIndex(this.text));
  }

  /** The node at `path`, or the deepest existing ancestor (so a missing key points at its object). */
  node(path: JsonPath): Node | undefined {
    if (!this.parsed) {
      this.parsed = true;
      if (!exceedsNesting(this.text, MAX_LOCATE_DEPTH)) {
        this.tree = parseTree(this.text, [], { disallowComments: true, allowTrailingComma: false });
      }
    }
    if (!this.tree) return undefined;
    // Walk as deep as the path exists (findNodeAtLocation semantics: the first of duplicate keys wins).
    let node: Node = this.tree;
    for (const segment of path) {
      const next = typeof segment === 'string' ? this.property(node, segment) : node.type === 'array' ? node.children?.[segment] : undefined;
      if (!next) break;
      node = next;
    }
    return node;
  }

  private property(node: Node, key: string): Node | undefined {
    if (node.type !== 'object' || !node.children) return undefined;
    let byKey = this.properties.get(node);
    if (!byKey) {
      byKey = new Map();
      for (const prop of node.children) {
        const [k, v] = prop.children ?? [];
        if (prop.children?.length === 2 && k && v && typeof k.value === 'string' && !byKey.has(k.value)) byKey.set(k.value, v);
      }
      this.properties.set(node, byKey);
    }
    return byKey.get(key);
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
