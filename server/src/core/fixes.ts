import type { Fix, RecordEdit } from './types';

/**
 * Choosing and applying fixes. A fix is atomic: all its edits apply or none. Fixes whose edits
 * overlap an already chosen one are left out (the next validation offers them again), so any
 * set of chosen fixes applies as one non-conflicting batch: one undo step in the editor.
 */

/** Anything with ordered start / end positions: record offsets, or absolute line/character ranges. */
export interface Span<P> {
  start: P;
  end: P;
}

/**
 * Picks fixes in order, skipping any whose edits overlap (or touch at the same insertion point)
 * an edit already picked. Returns the picked fixes.
 */
export function pickFixes<F, P>(fixes: readonly F[], editsOf: (f: F) => readonly Span<P>[], compare: (a: P, b: P) => number): F[] {
  const taken: Span<P>[] = [];
  const out: F[] = [];
  const overlaps = (a: Span<P>, b: Span<P>): boolean => {
    // Two insertions at one point conflict (their order would be arbitrary); otherwise half-open ranges.
    if (compare(a.start, a.end) === 0 && compare(b.start, b.end) === 0) return compare(a.start, b.start) === 0;
    return compare(a.start, b.end) < 0 && compare(b.start, a.end) < 0;
  };
  for (const f of fixes) {
    const edits = editsOf(f);
    if (edits.length === 0) continue;
    if (edits.some((e, i) => edits.some((o, j) => j < i && overlaps(e, o)))) continue;
    if (edits.some((e) => taken.some((t) => overlaps(e, t)))) continue;
    taken.push(...edits);
    out.push(f);
  }
  return out;
}

const byOffset = (a: number, b: number): number => a - b;

/** The safe fixes of one record that can apply together. */
export function safeRecordEdits(fixes: readonly Fix[]): RecordEdit[] {
  return pickFixes(
    fixes.filter((f) => f.safe),
    (f) => f.edits,
    byOffset,
  ).flatMap((f) => f.edits);
}

/** Applies non-overlapping record edits to `text`. */
export function applyRecordEdits(text: string, edits: readonly RecordEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

/**
 * Re-expresses each fix's edits in another position space (record offsets → record-relative
 * lines → absolute lines), keeping the fix's title, safety and group.
 */
export function mapFixEdits<E, T>(
  fixes: readonly { title: string; safe: boolean; groupKey?: string; edits: readonly E[] }[],
  place: (edit: E) => T,
): { title: string; safe: boolean; groupKey?: string; edits: T[] }[] {
  return fixes.map((fix) => ({ title: fix.title, safe: fix.safe, ...(fix.groupKey ? { groupKey: fix.groupKey } : {}), edits: fix.edits.map(place) }));
}
