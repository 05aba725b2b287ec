import { FORMAT_NAMES, type FormatName } from '../types';
import type { DatasetIssue, DatasetRule, DatasetRuleContext, DatasetView, TrackedRecords } from './rule';
import { KeyedGroups, positionsOf, updateSet } from './incremental';
import { cyrb53 } from '../hash';
import type { RecordSummary } from '../summary';

/**
 * Calls `each` for every record whose key (`keyOf`) an earlier record has, with the first record
 * that has it. Works from fingerprints of the keys (`prints`, NaN: no key) sorted, so only records
 * that share a fingerprint are read again; equal fingerprints are then told apart by the key.
 */
function forEachRepeat(
  summaries: readonly RecordSummary[],
  prints: Float64Array,
  keyOf: (s: RecordSummary) => string,
  each: (s: RecordSummary, earlier: RecordSummary) => void,
): void {
  const order = new Uint32Array(prints.length);
  let m = 0;
  for (let i = 0; i < prints.length; i++) if (!Number.isNaN(prints[i]!)) order[m++] = i;
  const sorted = order.subarray(0, m).sort((a, b) => prints[a]! - prints[b]! || a - b);
  for (let i = 0; i < m; ) {
    let j = i + 1;
    while (j < m && prints[sorted[j]!] === prints[sorted[i]!]) j++;
    if (j - i > 1) {
      const first = new Map<string, RecordSummary>();
      for (let k = i; k < j; k++) {
        const s = summaries[sorted[k]!]!;
        const earlier = first.get(keyOf(s));
        if (earlier) each(s, earlier);
        else first.set(keyOf(s), s);
      }
    }
    i = j;
  }
}

/** 1-based line of a record, as people count. */
const lineOf = (s: RecordSummary): number => s.line + 1;

function duplicateSample(s: RecordSummary, earlier: RecordSummary): DatasetIssue {
  return {
    record: s.index,
    code: 'duplicate-sample',
    path: [],
    message: `This record is identical to record ${earlier.index + 1} (line ${lineOf(earlier)}); duplicates are trained on twice and skew the data toward them.`,
    data: { earlierRecord: earlier.index, earlierLine: earlier.line },
  };
}

function duplicateId(s: RecordSummary, earlier: RecordSummary): DatasetIssue {
  return {
    record: s.index,
    code: 'duplicate-id',
    path: [],
    message: `id "${s.id}" is already used by record ${earlier.index + 1} (line ${lineOf(earlier)}); loaders that index by id (LLaVA, InternVL) keep only one of them.`,
    data: { earlierRecord: earlier.index },
  };
}

/** `duplicate-sample` and `duplicate-id`: the message names the earlier record. */
export const duplicatesRule: DatasetRule = {
  name: 'duplicates',
  codes: ['duplicate-sample', 'duplicate-id'],
  check(summaries) {
    // Numeric fingerprints sorted, not maps of strings: a million records cost 12 bytes each
    // instead of two map entries each (~180 MB), and a big file's summaries (SummaryStore, built
    // on access) are read once in order, then only where records share a fingerprint.
    const n = summaries.length;
    const hashPrint = new Float64Array(n).fill(NaN);
    const idPrint = new Float64Array(n).fill(NaN);
    let pos = 0;
    for (const s of summaries) {
      if (s.hash !== undefined) hashPrint[pos] = cyrb53(s.hash);
      if (s.id !== undefined) idPrint[pos] = cyrb53(s.id);
      pos++;
    }
    // Position * 2 (+1 for duplicate-id): issues per record in file order, duplicate-sample first.
    const found: { order: number; issue: DatasetIssue }[] = [];
    forEachRepeat(summaries, hashPrint, (s) => s.hash!, (s, earlier) => found.push({ order: 2 * s.index, issue: duplicateSample(s, earlier) }));
    forEachRepeat(summaries, idPrint, (s) => s.id!, (s, earlier) => {
      if (earlier.hash !== s.hash) found.push({ order: 2 * s.index + 1, issue: duplicateId(s, earlier) });
    });
    return found.sort((a, b) => a.order - b.order).map((f) => f.issue);
  },
  incremental() {
    // Only hashes and ids held by several records are read when asked for issues.
    const hashes = new KeyedGroups<string>();
    const ids = new KeyedGroups<string>();
    return {
      update(group, from, to) {
        const { hash, id } = group.facts;
        if (hash !== undefined) hashes.update(hash, group, from, to);
        if (id !== undefined) ids.update(id, group, from, to);
      },
      issues(view) {
        if (hashes.crowded.size === 0 && ids.crowded.size === 0) return [];
        const { summaries } = view;
        // Position * 2 (+1 for duplicate-id): check() reports per record, duplicate-sample first.
        const found: { order: number; issue: DatasetIssue }[] = [];
        for (const crowd of hashes.crowded.values()) {
          const at = positionsOf(view, crowd.members.keys());
          const earlier = summaries[at[0]!]!;
          for (let k = 1; k < at.length; k++) found.push({ order: 2 * at[k]!, issue: duplicateSample(summaries[at[k]!]!, earlier) });
        }
        for (const crowd of ids.crowded.values()) {
          const at = positionsOf(view, crowd.members.keys());
          const earlier = summaries[at[0]!]!;
          for (let k = 1; k < at.length; k++) {
            const s = summaries[at[k]!]!;
            if (earlier.hash !== s.hash) found.push({ order: 2 * at[k]! + 1, issue: duplicateId(s, earlier) });
          }
        }
        return found.sort((a, b) => a.order - b.order).map((f) => f.issue);
      },
    };
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
  /** The counter the tally came from, when a validator keeps one (it knows the records by format). */
  counter?: FormatCounter;
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

/**
 * The format tallies kept across validations by a validator that tracks its records
 * (`DatasetRuleState` style): counts updated from the records that changed, and the record
 * groups by format, so `format-mismatch` finds the misfits without reading every summary.
 */
export class FormatCounter {
  private readonly counts = new Array<number>(FORMAT_NAMES.length).fill(0);
  private readonly primary = new Array<number>(FORMAT_NAMES.length).fill(0);
  private total = 0;
  /** Record groups by format; groups whose format is not among their own candidates are kept apart too. */
  private readonly byFormat = FORMAT_NAMES.map(() => new Set<TrackedRecords>());
  private readonly outsideCandidates = new Set<TrackedRecords>();

  update(group: TrackedRecords, from: number, to: number): void {
    const { candidates, format } = group.facts;
    const d = to - from;
    for (let k = 0; k < candidates.length; k++) {
      const i = FORMAT_INDEX.get(candidates[k]!)!;
      this.counts[i] = this.counts[i]! + d;
    }
    if (format) {
      const i = FORMAT_INDEX.get(format)!;
      this.primary[i] = this.primary[i]! + d;
      this.total += d;
      updateSet(this.byFormat[i]!, group, from, to);
      if (!candidates.includes(format)) updateSet(this.outsideCandidates, group, from, to);
    }
  }

  /** The tally of `summaries` (the records counted), remembered for `dominantFormat(summaries)`. */
  tally(summaries: readonly RecordSummary[]): FormatTally {
    // The most records, then the most with it as their own format, then (rare) the one seen first.
    let bestCount = 0;
    let bestPrimary = 0;
    let tied: number[] = [];
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c <= 0 || c < bestCount) continue;
      const p = this.primary[i]!;
      if (c > bestCount || p > bestPrimary) {
        bestCount = c;
        bestPrimary = p;
        tied = [i];
      } else if (p === bestPrimary) tied.push(i);
    }
    const best = tied.length > 1 ? firstSeen(summaries, tied) : (tied[0] ?? -1);
    const tally: FormatTally = { dominant: best < 0 ? undefined : FORMAT_NAMES[best], share: bestCount, total: this.total, records: summaries.length, counter: this };
    tallies.set(summaries, tally);
    return tally;
  }

  /** Groups of records whose format is not `dominant` nor among their candidates may not fit it: the ones to check. */
  *misfitCandidates(dominant: FormatName): Iterable<TrackedRecords> {
    const d = FORMAT_INDEX.get(dominant)!;
    for (let i = 0; i < this.byFormat.length; i++) if (i !== d) yield* this.byFormat[i]!;
    for (const g of this.outsideCandidates) if (g.facts.format === dominant) yield g;
  }
}

/** Of the formats `tied`, the one that occurs first among the records' candidates. */
function firstSeen(summaries: readonly RecordSummary[], tied: readonly number[]): number {
  const wanted = new Set(tied.map((i) => FORMAT_NAMES[i]!));
  for (const s of summaries) {
    for (const c of s.candidates) if (wanted.has(c)) return FORMAT_INDEX.get(c)!;
  }
  return tied[0]!;
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
    return formatMismatches(summaries, ctx);
  },
  incremental(ctx) {
    // The counts are the validator's own `FormatCounter` (the dominant format is asked for anyway).
    return { update() {}, issues: (view) => formatMismatches(view.summaries, ctx, view) };
  },
};

function formatMismatches(summaries: readonly RecordSummary[], ctx: DatasetRuleContext, view?: DatasetView): DatasetIssue[] {
  if (ctx.settings.format !== 'auto') return [];
  const { dominant, share, total, counter } = tallyFormats(summaries);
  // Every record with a format fits the dominant one: nothing to report, no second pass.
  if (!dominant || share >= total) return [];
  const misfit = (s: RecordSummary): DatasetIssue => ({
    record: s.index,
    code: 'format-mismatch',
    path: [],
    message: `This record is ${s.format} but the file is ${dominant} (${share} of ${total} records); a loader configured for ${dominant} fails on it or reads empty fields.`,
    data: { format: s.format, dominant },
  });
  if (counter && view) {
    // A validator keeping its records (the editor): read only the records of other formats.
    const groups: TrackedRecords[] = [];
    for (const g of counter.misfitCandidates(dominant)) if (!g.facts.candidates.includes(dominant)) groups.push(g);
    return positionsOf(view, groups).map((p) => misfit(summaries[p]!));
  }
  const out: DatasetIssue[] = [];
  for (const s of summaries) {
    if (!s.format || s.candidates.includes(dominant)) continue;
    out.push(misfit(s));
  }
  return out;
}
