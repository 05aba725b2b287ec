import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode, type Pair } from 'yaml';
import type { z } from 'zod';
import { runConfigSchema, type RunConfig } from './schema';

/**
 * Run configs are YAML; this module parses them keeping every node's source range, so a problem
 * lands on the exact key or value (editor diagnostics, CLI messages), and answers "which field is
 * at this offset" for hover and completion.
 */

export type YamlPath = (string | number)[];

export interface ConfigProblem {
  /** Offsets into the text (UTF-16, what JavaScript strings index). */
  start: number;
  end: number;
  severity: 'error' | 'warning';
  message: string;
  path: YamlPath;
}

export interface ParsedRunConfig {
  config?: RunConfig;
  problems: ConfigProblem[];
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export function parseRunConfig(text: string): ParsedRunConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = [];
  for (const e of doc.errors) problems.push({ start: e.pos[0], end: Math.max(e.pos[1], e.pos[0] + 1), severity: 'error', message: firstLine(e.message), path: [] });
  for (const w of doc.warnings) problems.push({ start: w.pos[0], end: Math.max(w.pos[1], w.pos[0] + 1), severity: 'warning', message: firstLine(w.message), path: [] });
  if (doc.errors.length > 0) return { problems, doc, lineCounter };
  const value: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const result = runConfigSchema.safeParse(value);
  if (result.success) return { config: result.data, problems, doc, lineCounter };
  for (const issue of result.error.issues) problems.push(...locateIssue(doc, text, issue));
  return { problems, doc, lineCounter };
}

/** "line:column" (1-based) of an offset, for CLI messages. */
export function lineColumn(parsed: ParsedRunConfig, offset: number): string {
  const p = parsed.lineCounter.linePos(offset);
  return `${p.line}:${p.col}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}

function locateIssue(doc: Document.Parsed, text: string, issue: z.core.$ZodIssue): ConfigProblem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const pair = pairAt(doc, [...path, key]);
      const r = pair && isNode(pair.key) ? pair.key.range : undefined;
      const [start, end] = r ? [r[0], r[1]] : wholeRange(doc, text, path);
      return { start, end, severity: 'error' as const, message: `Unknown field "${key}"${where(path)}; the launcher would ignore it. Check the spelling against the documented fields.`, path: [...path, key] };
    });
  }
  const [start, end] = rangeFor(doc, text, path);
  const node = nodeAt(doc, path);
  const missing = node === undefined && issue.code === 'invalid_type' && issue.input === undefined;
  const message = missing ? `${describePath(path)} is required${where(path.slice(0, -1))}: ${issue.message.replace(/^Invalid input: /, '')}.`.replace(/\.\.$/, '.') : humanise(issue, path);
  return [{ start, end, severity: 'error', message, path }];
}

function humanise(issue: z.core.$ZodIssue, path: YamlPath): string {
  const m = issue.message;
  if (issue.code === 'invalid_type' && m.startsWith('Invalid input: expected ')) return `${describePath(path)} must be ${m.slice('Invalid input: expected '.length).replace(/, received (\w+)/, ', not $1')}.`;
  if (issue.code === 'invalid_value' && m.startsWith('Invalid option')) return `${describePath(path)} must be one of ${issue.values.map((v) => String(v)).join(', ')}.`;
  return /[.!?]$/.test(m) ? m : `${m}.`;
}

function describePath(path: YamlPath): string {
  if (path.length === 0) return 'The config';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function where(parent: YamlPath): string {
  return parent.length ? ` in ${describePath(parent)}` : '';
}

function isNode(v: unknown): v is YamlNode {
  return !!v && typeof v === 'object' && 'range' in v;
}

/** The node at `path`, or undefined when the path does not exist in the document. */
export function nodeAt(doc: Document.Parsed, path: YamlPath): YamlNode | undefined {
  let cur: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => keyText(p) === String(seg));
      if (!pair) return undefined;
      cur = pair.value;
    } else if (isSeq(cur) && typeof seg === 'number') {
      cur = cur.items[seg];
    } else return undefined;
  }
  return isNode(cur) ? cur : undefined;
}

function pairAt(doc: Document.Parsed, path: YamlPath): Pair | undefined {
  const parent = path.length > 1 ? nodeAt(doc, path.slice(0, -1)) : doc.contents;
  if (!isMap(parent)) return undefined;
  return parent.items.find((p) => keyText(p) === String(path[path.length - 1]));
}

function keyText(p: Pair): string | undefined {
  return isScalar(p.key) ? String(p.key.value) : undefined;
}

/**
 * The range a problem at `path` should underline: the value when it exists; for a missing field,
 * the key of its parent (or the first line of the document for a missing top-level field).
 */
function rangeFor(doc: Document.Parsed, text: string, path: YamlPath): [number, number] {
  const node = nodeAt(doc, path);
  if (node?.range) return [node.range[0], Math.max(node.range[1], node.range[0] + 1)];
  return wholeRange(doc, text, path.slice(0, -1));
}

function wholeRange(doc: Document.Parsed, text: string, parentPath: YamlPath): [number, number] {
  for (let n = parentPath.length; n > 0; n--) {
    const pair = pairAt(doc, parentPath.slice(0, n));
    if (pair && isNode(pair.key) && pair.key.range) return [pair.key.range[0], pair.key.range[1]];
    const node = nodeAt(doc, parentPath.slice(0, n));
    if (node?.range) return [node.range[0], node.range[0] + 1];
  }
  const firstLineEnd = text.indexOf('\n');
  return [0, Math.max(1, firstLineEnd < 0 ? text.length : firstLineEnd)];
}

export interface CursorContext {
  /** Path of the field at the cursor (for a key: the field it names; on an empty line: the enclosing map). */
  path: YamlPath;
  /** The cursor is on a key (or where a key would go), not on a value. */
  onKey: boolean;
  /** Range of the scalar under the cursor, when there is one. */
  range?: [number, number];
}

/**
 * What the cursor is on. Uses the parsed nodes when the cursor sits on one; on a line being typed
 * (which the parser may not have made a node of yet) it reads the enclosing fields from the
 * indentation of the lines above.
 */
export function cursorContext(doc: Document.Parsed, text: string, offset: number): CursorContext {
  const found = findAt(doc.contents, offset, []);
  if (found) return found;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const line = text.slice(lineStart, offset);
  const lead = /^( *)((?:- +)?)/.exec(line)!;
  const parent = parentPathFromText(text, lineStart, lead[1]!.length + lead[2]!.length, lead[2]!.length > 0);
  const keyMatch = /^\s*(?:- +)?([A-Za-z_]\w*):\s*\S*$/.exec(line);
  if (keyMatch) return { path: [...parent, keyMatch[1]!], onKey: false };
  return { path: parent, onKey: true };
}

function findAt(node: unknown, offset: number, path: YamlPath): CursorContext | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = keyText(pair);
      if (key === undefined) continue;
      const kr = isNode(pair.key) ? pair.key.range : undefined;
      if (kr && offset >= kr[0] && offset <= kr[1]) return { path: [...path, key], onKey: true, range: [kr[0], kr[1]] };
      const v = pair.value;
      if (isNode(v) && v.range && offset >= v.range[0] && offset <= v.range[1]) {
        const inner = findAt(v, offset, [...path, key]);
        if (inner) return inner;
        if (isScalar(v) && v.value !== null) return { path: [...path, key], onKey: false, range: [v.range[0], v.range[1]] };
      }
    }
    return undefined;
  }
  if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const item = node.items[i];
      if (isNode(item) && item.range && offset >= item.range[0] && offset <= item.range[1]) {
        const inner = findAt(item, offset, [...path, i]);
        if (inner) return inner;
        if (isScalar(item) && item.value !== null) return { path: [...path, i], onKey: false, range: [item.range[0], item.range[1]] };
      }
    }
  }
  return undefined;
}

/**
 * The path of the block map whose keys sit at column `keyCol` on the line starting at `lineStart`,
 * read from the lines above: each less-indented `key:` line is a parent, each `- ` line an item.
 */
function parentPathFromText(text: string, lineStart: number, keyCol: number, startsItem: boolean): YamlPath {
  const lines = text.slice(0, lineStart).split('\n');
  lines.pop();
  const path: YamlPath = [];
  let want = keyCol;
  let allowEqual = false;
  const enterItem = (itemLine: number, lead: number, countItself: boolean): void => {
    // Count the items of this sequence above the cursor's item, at the same indentation.
    let index = countItself ? 0 : -1;
    for (let j = itemLine; j >= 0; j--) {
      const l = lines[j]!;
      if (!l.trim() || l.trimStart().startsWith('#')) continue;
      const lj = /^( *)(- )?/.exec(l)!;
      if (lj[1]!.length < lead || (lj[1]!.length === lead && !lj[2])) break;
      if (lj[1]!.length === lead && lj[2]) index++;
    }
    path.unshift(Math.max(0, index));
    want = lead;
    allowEqual = true;
  };
  if (startsItem) {
    const lead = /^( *)/.exec(text.slice(lineStart))![1]!.length;
    enterItem(lines.length - 1, lead, true);
  }
  for (let i = lines.length - 1; i >= 0 && want > 0; i--) {
    const line = lines[i]!;
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const m = /^( *)((?:- +)?)(.*)$/.exec(line)!;
    const lead = m[1]!.length;
    const col = lead + m[2]!.length;
    if (m[2] && col === want && !allowEqual) {
      enterItem(i, lead, false);
      continue;
    }
    if (!m[2] && (col < want || (allowEqual && col === want))) {
      const km = /^([^:#]+):\s*(#.*)?$/.exec(m[3]!);
      if (!km) return path;
      path.unshift(km[1]!.trim());
      want = col;
      allowEqual = false;
    } else if (m[2] && col < want) {
      return path;
    }
  }
  return path;
}
