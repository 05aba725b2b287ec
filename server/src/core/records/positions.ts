import type { OffsetRange } from '../types';

/** A range relative to a record's first character: `line` 0 is the record's first line. */
export interface RelativeRange {
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
}

/** An absolute range: 0-based lines, UTF-16 columns (what LSP and editors use). */
export interface AbsoluteRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/**
 * Converts record-relative offsets to lines/columns relative to the record's start. Pass the
 * record's `LineIndex` when converting many offsets of one record (a huge pretty-printed element
 * with thousands of issues would otherwise rescan its lines for each).
 */
export function toRelative(text: string, range: OffsetRange, lines?: LineIndex): RelativeRange {
  const a = lines ? lines.lineCol(range.start) : lineCol(text, range.start);
  const b = lines ? lines.lineCol(range.end) : lineCol(text, range.end);
  return { line: a.line, character: a.character, endLine: b.line, endCharacter: b.character };
}

function lineCol(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, character: column(text, offset, lineStart) };
}

/** A CR before LF belongs to the line break, never to a column. */
function column(text: string, offset: number, lineStart: number): number {
  const character = offset - lineStart;
  if (character > 0 && text.charCodeAt(offset - 1) === 13 && offset === text.indexOf('\n', lineStart)) return character - 1;
  return character;
}

/** The line starts of one text, for O(log n) offset → line/column conversions. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  lineCol(offset: number): { line: number; character: number } {
    // The last line start that is <= offset (a line's own LF belongs to it, as in lineCol above).
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: column(this.text, offset, this.starts[lo]!) };
  }
}

/**
 * The one place where positions become editor positions: a record-relative range plus the
 * record's own start (line, UTF-16 column) gives the absolute range. Columns on the record's first
 * line are shifted by the record's start column (JSON array elements rarely start at column 0).
 */
export function toAbsolute(recordLine: number, recordColumn: number, rel: RelativeRange): AbsoluteRange {
  return {
    start: { line: recordLine + rel.line, character: rel.line === 0 ? recordColumn + rel.character : rel.character },
    end: { line: recordLine + rel.endLine, character: rel.endLine === 0 ? recordColumn + rel.endCharacter : rel.endCharacter },
  };
}
