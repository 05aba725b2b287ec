import { TextDocument, type Position, type Range, type TextDocumentContentChangeEvent } from 'vscode-languageserver-textdocument';
import type { TextDocumentsConfiguration } from 'vscode-languageserver/node';
import type { LineSource } from '../core/validator';

/**
 * A text document kept as an array of lines, for big datasets. The standard `TextDocument` keeps
 * one string and rebuilds it on every keystroke (slice + concat, then a 40 MB flatten on the next
 * read: ~20 ms and a large garbage string per edit); here an edit replaces the lines it touches
 * and unchanged lines stay the same string objects, which is also what lets the validator find
 * them in its cache without hashing 40 MB again.
 *
 * It behaves exactly like `TextDocument` (positions, offsets, line count, text) for documents
 * whose line breaks are `\n` or `\r\n`. A lone `\r` (an old Mac line break) makes it hand over to
 * a standard `TextDocument`, which is then used for that document from there on.
 */
export class LineDocument implements TextDocument, LineSource {
  /** Line contents, without their line break. */
  private lines: string[];
  /** 1 where the line ends with `\r\n`, 0 for `\n` (or for the last line, which has no break). */
  private crlf: number[];
  /** Offsets of line starts, valid below `startsValid`. */
  private starts: number[] = [0];
  private startsValid = 1;
  private length: number;
  private text: string | undefined;

  private constructor(
    readonly uri: string,
    readonly languageId: string,
    private _version: number,
    content: string,
  ) {
    const { lines, crlf } = splitLines(content)!;
    this.lines = lines;
    this.crlf = crlf;
    this.length = content.length;
    this.text = content;
  }

  /** A line document, or a standard one when the text has a lone `\r`. */
  static create(uri: string, languageId: string, version: number, content: string): TextDocument {
    return hasLoneCr(content) ? TextDocument.create(uri, languageId, version, content) : new LineDocument(uri, languageId, version, content);
  }

  get version(): number {
    return this._version;
  }

  get lineCount(): number {
    return this.lines.length;
  }

  /** Line `i` without its line break (the same string object until the line is edited). */
  lineText(i: number): string {
    return this.lines[i]!;
  }

  /** All lines, for a caller comparing them with an earlier copy (read only, valid until the next edit). */
  lineTexts(): readonly string[] {
    return this.lines;
  }

  lineOffset(i: number): number {
    this.ensureStarts(i);
    return this.starts[i]!;
  }

  getText(range?: Range): string {
    if (!range) {
      if (this.text === undefined) {
        const parts: string[] = [];
        const last = this.lines.length - 1;
        for (let i = 0; i < last; i++) parts.push(this.lines[i]!, this.crlf[i] ? '\r\n' : '\n');
        parts.push(this.lines[last]!);
        this.text = parts.join('');
      }
      return this.text;
    }
    let start = this.offsetAt(range.start);
    let end = this.offsetAt(range.end);
    // As String#substring (which TextDocument uses): a reversed range gives the same text.
    if (end < start) [start, end] = [end, start];
    if (end === start) return '';
    if (this.text !== undefined) return this.text.substring(start, end);
    // Only the lines the range covers are joined.
    const first = this.positionAt(start).line;
    const lastLine = this.positionAt(end).line;
    return this.regionText(first, lastLine, true).substring(start - this.lineOffset(first), end - this.lineOffset(first));
  }

  getLineRange(line: number): Range {
    if (line >= this.lines.length) line = this.lines.length - 1;
    else if (line < 0) return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return { start: { line, character: 0 }, end: { line, character: this.lines[line]!.length } };
  }

  getEOLCharacters(line: number): string {
    if (line < 0 || line >= this.lines.length - 1) return '';
    return this.crlf[line] ? '\r\n' : '\n';
  }

  offsetAt(position: Position): number {
    if (position.line >= this.lines.length) return this.length;
    if (position.line < 0) return 0;
    const lineStart = this.lineOffset(position.line);
    if (position.character <= 0) return lineStart;
    return lineStart + Math.min(position.character, this.lines[position.line]!.length);
  }

  positionAt(offset: number): Position {
    offset = Math.max(Math.min(offset, this.length), 0);
    this.ensureStarts(this.lines.length - 1);
    const starts = this.starts;
    let low = 0;
    let high = this.lines.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (starts[mid]! > offset) high = mid;
      else low = mid + 1;
    }
    const line = low - 1;
    return { line, character: Math.min(offset - starts[line]!, this.lines[line]!.length) };
  }

  /**
   * Applies the changes in order. Returns this document, or a standard `TextDocument` holding the
   * result when a change leaves a lone `\r` behind.
   */
  update(changes: readonly TextDocumentContentChangeEvent[], version: number): TextDocument {
    for (let k = 0; k < changes.length; k++) {
      const change = changes[k]!;
      if (!('range' in change) || !change.range) {
        const split = splitLines(change.text);
        if (!split) return TextDocument.update(TextDocument.create(this.uri, this.languageId, this._version, change.text), changes.slice(k + 1), version);
        this.lines = split.lines;
        this.crlf = split.crlf;
        this.length = change.text.length;
        this.text = change.text;
        this.startsValid = 1;
        continue;
      }
      if (!this.applyRange(change.range, change.text)) {
        // Hand over: the standard document gets the text as it was before this change.
        const full = TextDocument.create(this.uri, this.languageId, this._version, this.getText());
        return TextDocument.update(full, changes.slice(k), version);
      }
    }
    this._version = version;
    return this;
  }

  /** Replaces a range; false (and nothing changed) when the result would hold a lone `\r`. */
  private applyRange(range: Range, newText: string): boolean {
    let { start, end } = range;
    if (start.line > end.line || (start.line === end.line && start.character > end.character)) [start, end] = [end, start];
    const startOffset = this.offsetAt(start);
    const endOffset = this.offsetAt(end);
    const first = this.positionAt(startOffset).line;
    const last = this.positionAt(endOffset).line;
    const base = this.lineOffset(first);
    const region = this.regionText(first, last, false);
    const replaced = region.slice(0, startOffset - base) + newText + region.slice(endOffset - base);
    // The last line's own break stays; a `\r` the edit leaves right before it joins it as `\r\n`.
    const lastHasBreak = last < this.lines.length - 1;
    const lastCrlf = this.crlf[last]!;
    let split = splitLines(replaced, lastHasBreak && !lastCrlf);
    if (!split) return false;
    if (split.trailingCr) {
      split = { ...split, crlf: [...split.crlf.slice(0, -1), 1] };
    } else split.crlf[split.crlf.length - 1] = lastHasBreak ? lastCrlf : 0;
    const count = last - first + 1;
    if (split.lines.length === 1 && count === 1) {
      // The common case: a keystroke inside one line.
      this.lines[first] = split.lines[0]!;
      this.crlf[first] = split.crlf[0]!;
    } else {
      this.lines = this.lines.slice(0, first).concat(split.lines, this.lines.slice(last + 1));
      this.crlf = this.crlf.slice(0, first).concat(split.crlf, this.crlf.slice(last + 1));
    }
    this.length += newText.length - (endOffset - startOffset);
    this.text = undefined;
    this.startsValid = Math.min(this.startsValid, first + 1);
    return true;
  }

  /** Lines `first..last` joined with their breaks (the break after `last` only when `withLastBreak`). */
  private regionText(first: number, last: number, withLastBreak: boolean): string {
    if (first === last && !withLastBreak) return this.lines[first]!;
    const parts: string[] = [];
    for (let i = first; i <= last; i++) {
      parts.push(this.lines[i]!);
      if (i < last || (withLastBreak && i < this.lines.length - 1)) parts.push(this.crlf[i] ? '\r\n' : '\n');
    }
    return parts.join('');
  }

  private ensureStarts(upTo: number): void {
    if (upTo < this.startsValid) return;
    const starts = this.starts;
    let i = this.startsValid;
    let at = starts[i - 1]!;
    for (; i <= upTo; i++) {
      at += this.lines[i - 1]!.length + (this.crlf[i - 1] ? 2 : 1);
      starts[i] = at;
    }
    if (starts.length > this.lines.length) starts.length = this.lines.length;
    this.startsValid = upTo + 1;
  }
}

/**
 * Splits text at `\n` (a `\r` before it belongs to the break). Undefined when a lone `\r` is left,
 * except one at the very end when `allowTrailingCr` (it then pairs with the `\n` that follows the
 * edited region).
 */
function splitLines(text: string, allowTrailingCr = false): { lines: string[]; crlf: number[]; trailingCr: boolean } | undefined {
  const lines: string[] = [];
  const crlf: number[] = [];
  let from = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
    const cr = nl > from && text.charCodeAt(nl - 1) === 13;
    lines.push(text.slice(from, cr ? nl - 1 : nl));
    crlf.push(cr ? 1 : 0);
    from = nl + 1;
  }
  let tail = text.slice(from);
  let trailingCr = false;
  if (allowTrailingCr && tail.charCodeAt(tail.length - 1) === 13) {
    tail = tail.slice(0, -1);
    trailingCr = true;
  }
  lines.push(tail);
  crlf.push(0);
  for (const line of lines) if (line.indexOf('\r') >= 0) return undefined;
  return { lines, crlf, trailingCr };
}

function hasLoneCr(text: string): boolean {
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) if (text.charCodeAt(i + 1) !== 10) return true;
  return false;
}

/** Documents at least this long are kept as lines; smaller ones use the standard TextDocument. */
export const LINE_DOCUMENT_MIN_CHARS = 1_000_000;

/** JSON Lines documents, the ones validated line by line (a JSON array is re-read whole, so it gains nothing from lines). */
function isJsonLines(uri: string, languageId: string): boolean {
  const lower = uri.toLowerCase();
  return languageId === 'jsonl' || lower.endsWith('.jsonl') || lower.endsWith('.ndjson');
}

/** `TextDocuments` configuration: big JSON Lines documents become `LineDocument`s, the rest standard ones. */
export const lineDocuments: TextDocumentsConfiguration<TextDocument> = {
  create(uri, languageId, version, content) {
    return content.length >= LINE_DOCUMENT_MIN_CHARS && isJsonLines(uri, languageId)
      ? LineDocument.create(uri, languageId, version, content)
      : TextDocument.create(uri, languageId, version, content);
  },
  update(document, changes, version) {
    if (document instanceof LineDocument) return document.update(changes, version);
    return TextDocument.update(document, changes, version);
  },
};
