import type { Position } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { RecordSummary } from '../core/summary';

/**
 * Finding records of an open document from its last validation's summaries (positions only, no
 * re-splitting): the record under a position, and any record's text.
 */

export interface LocatedRecord {
  summary: RecordSummary;
  /** Offset of the record's first character in the document. */
  start: number;
  text: string;
}

/** The document range a record covers. */
export function recordRange(s: RecordSummary): { start: Position; end: Position } {
  const e = s.extent;
  return {
    start: { line: s.line, character: s.column },
    end: { line: s.line + e.endLine, character: e.endLine === 0 ? s.column + e.endCharacter : e.endCharacter },
  };
}

export function recordText(document: TextDocument, s: RecordSummary): LocatedRecord {
  const range = recordRange(s);
  return { summary: s, start: document.offsetAt(range.start), text: document.getText(range) };
}

/** The record that contains `position` (inclusive of its last character), if any. */
export function recordAt(document: TextDocument, summaries: readonly RecordSummary[], position: Position): LocatedRecord | undefined {
  let lo = 0;
  let hi = summaries.length - 1;
  let found = -1;
  const before = (s: RecordSummary): boolean => s.line < position.line || (s.line === position.line && s.column <= position.character);
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (before(summaries[mid]!)) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const s = summaries[found];
  if (!s) return undefined;
  const { end } = recordRange(s);
  if (position.line > end.line || (position.line === end.line && position.character > end.character)) return undefined;
  return recordText(document, s);
}

/** The record under the cursor, or the nearest one before it (for the preview, which follows the cursor). */
export function recordNear(document: TextDocument, summaries: readonly RecordSummary[], position: Position): LocatedRecord | undefined {
  const at = recordAt(document, summaries, position);
  if (at) return at;
  let best: RecordSummary | undefined;
  for (const s of summaries) {
    if (s.line > position.line) break;
    best = s;
  }
  best ??= summaries[0];
  return best ? recordText(document, best) : undefined;
}
