import type { FormatName } from '../types';
import type { DatasetIssue, DatasetRule } from './rule';
import type { RecordSummary } from '../summary';

/** 1-based line of a record, as people count. */
const lineOf = (s: RecordSummary): number => s.line + 1;

/** `duplicate-sample` and `duplicate-id`: the message names the earlier record. */
export const duplicatesRule: DatasetRule = {
  name: 'duplicates',
  codes: ['duplicate-sample', 'duplicate-id'],
  check(summaries) {
    const out: DatasetIssue[] = [];
    // Positions, not summaries: a big file's summaries are built on access (SummaryStore), and
    // holding one object per record here would undo that.
    const byHash = new Map<string, number>();
    const byId = new Map<string, number>();
    let pos = -1;
    for (const s of summaries) {
      pos++;
      if (s.hash !== undefined) {
        const at = byHash.get(s.hash);
        const earlier = at === undefined ? undefined : summaries[at];
        if (earlier) {
          out.push({
            record: s.index,
            code: 'duplicate-sample',
            path: [],
            message: `This record is identical to record ${earlier.index + 1} (line ${lineOf(earlier)}); duplicates are trained on twice and skew the data toward them.`,
            data: { earlierRecord: earlier.index, earlierLine: earlier.line },
          });
        } else byHash.set(s.hash, pos);
      }
      if (s.id !== undefined) {
        const at = byId.get(s.id);
        const earlier = at === undefined ? undefined : summaries[at];
        if (earlier && earlier.hash !== s.hash) {
          out.push({
            record: s.index,
            code: 'duplicate-id',
            path: [],
            message: `id "${s.id}" is already used by record ${earlier.index + 1} (line ${lineOf(earlier)}); loaders that index by id (LLaVA, InternVL) keep only one of them.`,
            data: { earlierRecord: earlier.index },
          });
        } else if (!earlier) byId.set(s.id, pos);
      }
    }
    return out;
  },
};

/** The file's dominant format: the one most records fit (a record may fit several). */
export function dominantFormat(summaries: readonly RecordSummary[]): FormatName | undefined {
  const counts = new Map<FormatName, number>();
  const primary = new Map<FormatName, number>();
  for (const s of summaries) {
    for (const c of s.candidates) counts.set(c, (counts.get(c) ?? 0) + 1);
    if (s.format) primary.set(s.format, (primary.get(s.format) ?? 0) + 1);
  }
  let best: FormatName | undefined;
  let bestCount = 0;
  for (const [name, n] of counts) {
    const better = n > bestCount || (n === bestCount && (primary.get(name) ?? 0) > (primary.get(best!) ?? 0));
    if (better) {
      best = name;
      bestCount = n;
    }
  }
  return best;
}

/** `format-mismatch`: a record that does not fit the dominant format at all. */
export const formatMismatchRule: DatasetRule = {
  name: 'formatMismatch',
  codes: ['format-mismatch'],
  check(summaries, ctx) {
    if (ctx.settings.format !== 'auto') return [];
    const dominant = dominantFormat(summaries);
    if (!dominant) return [];
    const total = summaries.filter((s) => s.format).length;
    const share = summaries.filter((s) => s.candidates.includes(dominant)).length;
    const out: DatasetIssue[] = [];
    for (const s of summaries) {
      if (!s.format || s.candidates.includes(dominant)) continue;
      out.push({
        record: s.index,
        code: 'format-mismatch',
        path: [],
        message: `This record is ${s.format} but the file is ${dominant} (${share} of ${total} records); a loader configured for ${dominant} fails on it or reads empty fields.`,
        data: { format: s.format, dominant },
      });
    }
    return out;
  },
};
