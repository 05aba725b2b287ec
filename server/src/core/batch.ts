import type { LocatedIssue, RecordAnalysis } from './analyze';
import { mapFixEdits } from './fixes';
import { JsonlSplitter } from './records/jsonl';
import { toRelative, type RelativeRange } from './records/positions';
import { FactsEncoder, type EncodedFacts } from './summaryStore';
import type { RawRecord, Severity } from './types';

/**
 * Batch analysis: what a worker thread (or the main thread, when there are no workers) does with
 * a run of records. The output is position-free (ranges are relative to each record), compact
 * (facts encoded into flat arrays) and plain data, so it crosses threads cheaply; the caller
 * places it once it knows where the batch sits in the file. Both paths run this same code, so a
 * file gets the same findings with and without workers.
 */

/** A fix edit relative to its record. */
export interface RelEdit {
  rel: RelativeRange;
  newText: string;
}

/** An issue whose ranges (fix edits included) are relative to its record. */
export interface RelFinding {
  code: string;
  severity: Severity;
  message: string;
  rel: RelativeRange;
  data?: Record<string, unknown>;
  fixes?: { title: string; safe: boolean; groupKey?: string; edits: RelEdit[] }[];
}

export interface BatchOutput {
  facts: EncodedFacts;
  /** Issues of the records that have any: [position in the batch, issues]. */
  issues: [number, RelFinding[]][];
}

/** A JSON Lines chunk's records, analysed; positions are relative to the chunk. */
export interface JsonlChunkOutput extends BatchOutput {
  /** 0-based line of each record within the chunk. */
  lines: Float64Array;
  /** Line breaks in the chunk (the next chunk starts this many lines further). */
  lineBreaks: number;
}

/** Resolves an analysed issue's fix edits against the record text (the only part that needs it). */
export function relFinding(text: string, issue: LocatedIssue): RelFinding {
  const f: RelFinding = { code: issue.code, severity: issue.severity, message: issue.message, rel: issue.rel };
  if (issue.data) f.data = issue.data;
  if (issue.fixes) {
    f.fixes = mapFixEdits(issue.fixes, (e) => ({ rel: toRelative(text, e), newText: e.newText }));
  }
  return f;
}

/** Rounds of waiting for background work (media probes) before volatile answers are taken as they are. */
const SETTLE_ROUNDS = 3;

/**
 * Analyses records; those whose answer waits on background work (`volatile`: a media probe in
 * flight) are analysed again once `settle` resolves, so the answers are complete.
 */
export async function analyzeSettled(records: readonly RawRecord[], analyze: (r: RawRecord) => RecordAnalysis, settle?: () => Promise<void>): Promise<RecordAnalysis[]> {
  const analyses = records.map(analyze);
  for (let round = 0; settle && round < SETTLE_ROUNDS && analyses.some((a) => a.volatile); round++) {
    await settle();
    for (let i = 0; i < analyses.length; i++) if (analyses[i]!.volatile) analyses[i] = analyze(records[i]!);
  }
  return analyses;
}

/** Analyses records, settled, and encodes them for transfer (see `analyzeSettled`). */
export async function analyzeBatch(
  records: readonly RawRecord[],
  analyze: (r: RawRecord) => RecordAnalysis,
  settle?: () => Promise<void>,
  serializeExtra?: (extra: Record<string, unknown>) => Uint8Array,
): Promise<BatchOutput> {
  const analyses = await analyzeSettled(records, analyze, settle);
  const encoder = new FactsEncoder(records.length, serializeExtra);
  const issues: [number, RelFinding[]][] = [];
  for (let i = 0; i < analyses.length; i++) {
    const a = analyses[i]!;
    encoder.add(a.facts);
    if (a.issues.length > 0) {
      const text = records[i]!.text;
      issues.push([i, a.issues.map((issue) => relFinding(text, issue))]);
    }
  }
  return { facts: encoder.take(), issues };
}

/**
 * Splits and analyses a chunk of JSON Lines that ends at a line break (or at the end of the
 * file). `atFileStart`: the chunk is the file's first, so a BOM there is dropped.
 */
export async function analyzeJsonlChunk(
  text: string,
  atFileStart: boolean,
  analyze: (r: RawRecord) => RecordAnalysis,
  settle?: () => Promise<void>,
  serializeExtra?: (extra: Record<string, unknown>) => Uint8Array,
): Promise<JsonlChunkOutput> {
  const records: RawRecord[] = [];
  const splitter = new JsonlSplitter((r) => records.push(r), { atFileStart });
  splitter.push(text);
  const lineBreaks = splitter.lineCount;
  splitter.end();
  const lines = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) lines[i] = records[i]!.line;
  const out = await analyzeBatch(records, analyze, settle, serializeExtra);
  return { ...out, lines, lineBreaks };
}
