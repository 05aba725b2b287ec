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

/** Lookups of one record answered by scanning before the syntax tree is built instead. */
const MAX_SCANS = 8;

/**
 * Resolves JSON paths (an issue's, a fact's anchor) to ranges in the record's text: the first few
 * by scanning along the path, any more through a syntax tree built once. The hot path parses with
 * `JSON.parse`; the tree is built only for records with many issues.
 */
export class RecordLocator {
  private tree: Node | undefined;
  private parsed = false;
  private lineIndex: LineIndex | undefined;
  private scans = 0;
  /** Property lookups per object node, so locating many keys of one huge object stays linear. */
  private readonly properties = new Map<Node, Map<string, Node>>();

  constructor(private readonly text: string) {}

  locate(issue: Pick<Issue, 'path' | 'onKey' | 'span' | 'range'>): OffsetRange {
    if (issue.range) return clamp(issue.range, this.text.length);
    // Most records are located once or twice (a fact's anchor, an issue or two): a scan that skips
    // the values off the path costs a fraction of building the whole syntax tree. Past a few
    // lookups the tree is cheaper (each scan may cross the record; a record with thousands of
    // issues would make them quadratic).
    if (this.scanLookups()) {
      const found = seekPath(this.text, issue.path);
      if (found) {
        if (issue.onKey && found.keyStart >= 0) return { start: found.keyStart, end: found.keyEnd };
        if (issue.span && this.text.charCodeAt(found.start) === 34) {
          const start = rawOffsetInString(this.text, found.start, issue.span.start);
          const end = rawOffsetInString(this.text, found.start, issue.span.start + issue.span.length);
          return { start, end };
        }
        return { start: found.start, end: found.end };
      }
    }
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

  /** Offset of the opening quote of the string at `path`, when it is there and decodes to `decoded`. */
  stringLiteral(path: JsonPath, decoded: string): number | undefined {
    if (this.scanLookups()) {
      const found = seekPath(this.text, path);
      if (found) return this.text.charCodeAt(found.start) === 34 && literalIs(this.text, found.start, found.end, decoded) ? found.start : undefined;
    }
    const node = this.node(path);
    return node?.type === 'string' && node.value === decoded ? node.offset : undefined;
  }

  /** Whether the next lookup should scan rather than walk the syntax tree. */
  private scanLookups(): boolean {
    return !this.parsed && this.scans++ < MAX_SCANS;
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

/** Where `seekPath` landed: the value's range, and its key's when the last step was a property. */
interface PathLocation {
  start: number;
  end: number;
  keyStart: number;
  keyEnd: number;
}

/**
 * Resolves `path` in valid JSON text without building a tree, with the tree walk's answers: as
 * deep as the path exists, the first of duplicate keys. Undefined when the text is not the valid
 * JSON it should be, or nests deeper than `MAX_LOCATE_DEPTH` where it looks (the caller then
 * takes the tree walk, which locates such records as a whole).
 */
export function seekPath(text: string, path: JsonPath): PathLocation | undefined {
  let start = skipSpace(text, 0);
  // The end of a value is found when it is skipped or is the answer: no scan of the rest.
  let end = -1;
  let keyStart = -1;
  let keyEnd = -1;
  for (const segment of path) {
    const open = text.charCodeAt(start);
    let found = false;
    if (typeof segment === 'string') {
      if (open !== 123) break;
      let j = skipSpace(text, start + 1);
      while (text.charCodeAt(j) === 34) {
        const ks = j;
        const ke = stringEnd(text, j);
        if (ke < 0) return undefined;
        j = skipSpace(text, ke);
        if (text.charCodeAt(j) !== 58) return undefined;
        const vs = skipSpace(text, j + 1);
        const ve = valueEnd(text, vs);
        if (ve < 0) return undefined;
        if (literalIs(text, ks, ke, segment)) {
          start = vs;
          end = ve;
          keyStart = ks;
          keyEnd = ke;
          found = true;
          break;
        }
        j = skipSpace(text, ve);
        if (text.charCodeAt(j) !== 44) break;
        j = skipSpace(text, j + 1);
      }
    } else {
      if (open !== 91) break;
      let j = skipSpace(text, start + 1);
      for (let index = 0; j < text.length && text.charCodeAt(j) !== 93; index++) {
        const ve = valueEnd(text, j);
        if (ve < 0) return undefined;
        if (index === segment) {
          start = j;
          end = ve;
          keyStart = keyEnd = -1;
          found = true;
          break;
        }
        j = skipSpace(text, ve);
        if (text.charCodeAt(j) !== 44) break;
        j = skipSpace(text, j + 1);
      }
    }
    if (!found) break;
  }
  if (end < 0) end = valueEnd(text, start);
  return end < 0 ? undefined : { start, end, keyStart, keyEnd };
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) i++;
    else return i;
  }
}

/** The offset just past the string literal whose opening quote is at `at`; -1 if it is not closed. */
export function stringEnd(text: string, at: number): number {
  for (let q = text.indexOf('"', at + 1); q >= 0; q = text.indexOf('"', q + 1)) {
    let backslashes = 0;
    for (let b = q - 1; text.charCodeAt(b) === 92; b--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
  }
  return -1;
}

const STRUCTURE = /["[\]{}]/g;

/** The offset just past the JSON value starting at `at`; -1 when it is malformed or nests too deep. */
function valueEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === 34) return stringEnd(text, at);
  if (c === 123 || c === 91) {
    let depth = 0;
    STRUCTURE.lastIndex = at;
    for (let m = STRUCTURE.exec(text); m; m = STRUCTURE.exec(text)) {
      const d = text.charCodeAt(m.index);
      if (d === 34) {
        const e = stringEnd(text, m.index);
        if (e < 0) return -1;
        STRUCTURE.lastIndex = e;
      } else if (d === 123 || d === 91) {
        if (++depth > MAX_LOCATE_DEPTH) return -1;
      } else if (--depth === 0) return m.index + 1;
    }
    return -1;
  }
  // A number or a literal: up to the next delimiter.
  let i = at;
  for (;;) {
    const d = text.charCodeAt(i);
    if (Number.isNaN(d) || d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9) break;
    i++;
  }
  return i > at ? i : -1;
}

/** Whether the string literal at [start, end) (quotes included) decodes to `value`. */
function literalIs(text: string, start: number, end: number, value: string): boolean {
  const escaped = text.indexOf('\\', start + 1);
  if (escaped < 0 || escaped >= end) return end - start - 2 === value.length && text.startsWith(value, start + 1);
  try {
    return JSON.parse(text.slice(start, end)) === value;
  } catch {
    return false;
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
