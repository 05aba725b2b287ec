import { FORMAT_NAMES, type FormatName } from '../types';
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

/** Per-format tallies of a file, counted in one pass (the editor recounts on every keystroke). */
interface FormatTally {
  dominant: FormatName | undefined;
  /** Records the dominant format fits. */
  share: number;
  /** Records with a format at all. */
  total: number;
  /** Summaries counted (a summaries array only grows, while a streaming validation reads). */
  records: number;
}

const FORMAT_INDEX = new Map<string, number>(FORMAT_NAMES.map((n, i) => [n, i]));
/** The last tally per summaries array: format-mismatch and the validation's dominant format ask for the same one. */
const tallies = new WeakMap<readonly RecordSummary[], FormatTally>();

function tallyFormats(summaries: readonly RecordSummary[]): FormatTally {
  let tally = tallies.get(summaries);
  if (!tally || tally.records !== summaries.length) {
    tally = countFormats(summaries);
    tallies.set(summaries, tally);
  }
  return tally;
}

function countFormats(summaries: readonly RecordSummary[]): FormatTally {
  const n = FORMAT_NAMES.length;
  const counts = new Array<number>(n).fill(0);
  const primary = new Array<number>(n).fill(0);
  // Ties go to the format seen first, as they did when this was a Map in insertion order.
  const order: number[] = [];
  let total = 0;
  for (const s of summaries) {
    const candidates = s.candidates;
    for (let k = 0; k < candidates.length; k++) {
      const i = FORMAT_INDEX.get(candidates[k]!)!;
      if (counts[i] === 0) order.push(i);
      counts[i] = counts[i]! + 1;
    }
    if (s.format) {
      const i = FORMAT_INDEX.get(s.format)!;
      primary[i] = primary[i]! + 1;
      total++;
    }
  }
  let best = -1;
  let bestCount = 0;
  for (const i of order) {
    const c = counts[i]!;
    if (c > bestCount || (c === bestCount && best >= 0 && primary[i]! > primary[best]!)) {
      best = i;
      bestCount = c;
    }
  }
  return { dominant: best < 0 ? undefined : FORMAT_NAMES[best], share: bestCount, total, records: summaries.length };
}

/** The file's dominant format: the one most records fit (a record may fit several). */
export function dominantFormat(summaries: readonly RecordSummary[]): FormatName | undefined {
  return tallyFormats(summaries).dominant;
}

/** `format-mismatch`: a record that does not fit the dominant format at all. */
export const formatMismatchRule: DatasetRule = {
  name: 'formatMismatch',
  codes: ['format-mismatch'],
  check(summaries, ctx) {
    if (ctx.settings.format !== 'auto') return [];
    const { dominant, share, total } = tallyFormats(summaries);
    // Every record with a format fits the dominant one: nothing to report, no second pass.
    if (!dominant || share >= total) return [];
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
