import { analyzeRecord, resolveSeverity, type LocatedIssue, type RecordAnalysis } from './analyze';
import { relFinding, type BatchOutput, type RelFinding } from './batch';
import { SummaryStore, type ExtraSpill } from './summaryStore';
import { mapFixEdits } from './fixes';
import type { FormatContext } from './formats';
import { JsonArrayScanner, type ArrayProblem } from './records/jsonArray';
import { JsonlSplitter } from './records/jsonl';
import { toAbsolute, type AbsoluteRange } from './records/positions';
import { DATASET_RULES, RECORD_RULES, type DatasetRule, type RecordRule, type RuleServices } from './rules';
import { dominantFormat } from './rules/dataset';
import type { Settings } from './settings';
import type { RecordSummary } from './summary';
import type { FormatName, RawRecord, Severity } from './types';

export type FileKind = 'jsonl' | 'json';

export interface LocatedFix {
  title: string;
  safe: boolean;
  groupKey?: string;
  edits: { range: AbsoluteRange; newText: string }[];
}

/** A diagnostic with its final position: 0-based line, UTF-16 column. */
export interface Finding {
  record: number;
  range: AbsoluteRange;
  severity: Severity;
  code: string;
  message: string;
  fixes?: LocatedFix[];
  data?: Record<string, unknown>;
}

export interface ValidationResult {
  findings: Finding[];
  summaries: RecordSummary[];
  /** The file's dominant format. */
  format?: FormatName;
  records: number;
  /** True when findings were cut at `tunekit.maxProblems`. */
  truncated: boolean;
  /** Every finding counted by code, including those cut at `maxProblems` (the report needs true totals). */
  tally: IssueTally[];
  /** How many records have at least one error (trainers skip or crash on them). */
  errorRecords: number;
}

export interface IssueTally {
  code: string;
  severity: Severity;
  count: number;
  /** 0-based line of the first finding with this code. */
  firstLine: number;
}

export interface ValidatorOptions {
  settings: Settings;
  formatContext?: Omit<FormatContext, 'settings'>;
  services?: RuleServices;
  rules?: readonly RecordRule[];
  datasetRules?: readonly DatasetRule[];
}

/** Which way a file holds its records: `.json` files holding an array are arrays, everything else is JSON Lines. */
export function fileKindOf(path: string, head: string): FileKind {
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  const first = /[^\s\ufeff]/.exec(head.slice(0, 4096));
  return first?.[0] === '[' ? 'json' : 'jsonl';
}

/** A document given as lines (the language server keeps big documents so); lines are without their line breaks. */
export interface LineSource {
  readonly lineCount: number;
  /** Line `i` without its line break; the same string object for as long as the line is unchanged. */
  lineText(i: number): string;
  /** UTF-16 offset of line `i`'s first character. */
  lineOffset(i: number): number;
}

/** A cached analysis, with what was built from it at the record's last position (reused while the record does not move). */
interface CacheEntry {
  analysis: RecordAnalysis;
  /** The validation that last used the entry; entries unused by the latest one are swept. */
  seen: number;
  at?: { index: number; line: number; column: number; summary: RecordSummary; findings: Finding[] };
}

/**
 * Validates dataset files. Keeps a cache of record analyses keyed by record text, so validating
 * an edited document re-runs the rules only on records whose text changed; dataset rules then
 * run over the small per-record summaries.
 */
export class DatasetValidator {
  readonly counters = { ruleInvocations: 0, recordsAnalyzed: 0 };
  private cache = new Map<string, CacheEntry>();
  private generation = 0;
  /** What formats and rules see besides the record (hover and preview re-read records with it). */
  readonly formatContext: FormatContext;

  constructor(private readonly opts: ValidatorOptions) {
    this.formatContext = { ...opts.formatContext, settings: opts.settings };
  }

  get settings(): Settings {
    return this.opts.settings;
  }

  /** Record texts with a cached analysis. */
  get cachedRecords(): number {
    return this.cache.size;
  }

  /** Whether a record text's analysis is cached. */
  isCached(text: string): boolean {
    return this.cache.has(text);
  }

  /**
   * Adds analyses made elsewhere (worker threads analysing a big document that was just opened,
   * see node/prefill.ts) to the cache; the next validation then finds them. Answers still waiting
   * on a media probe are not kept, as with the validator's own.
   */
  addAnalyses(texts: readonly string[], analyses: readonly RecordAnalysis[]): void {
    for (let i = 0; i < texts.length; i++) {
      const analysis = analyses[i];
      if (analysis && !analysis.volatile && !this.cache.has(texts[i]!)) this.cache.set(texts[i]!, { analysis, seen: 0 });
    }
  }

  /** Forgets cached analyses (settings or media changed). */
  clearCache(): void {
    this.cache = new Map();
  }

  /** Drops cached analyses of records whose text matches (e.g. records that mention a media file that appeared). */
  invalidateWhere(pred: (text: string) => boolean): void {
    for (const key of this.cache.keys()) if (pred(key)) this.cache.delete(key);
  }

  /**
   * Validates a JSON Lines document given as lines, with the same answers as `validateText`. Its
   * unchanged lines are the same strings as last time, so finding them in the cache costs no
   * hashing, and their summaries and findings are reused while they stay on the same line: an
   * edit costs the records it touched plus the dataset rules.
   */
  validateLines(doc: LineSource): ValidationResult {
    const session = this.session(true);
    const n = doc.lineCount;
    let index = 0;
    // As JsonlSplitter: a BOM at the start of the file is not part of the first record, nor counted in offsets.
    const bom = n > 0 && doc.lineText(0).charCodeAt(0) === 0xfeff ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const text = i === 0 && bom ? doc.lineText(0).slice(1) : doc.lineText(i);
      if (isBlankLine(text)) continue;
      session.push({ index: index++, offset: doc.lineOffset(i) - bom, line: i, column: 0, text });
    }
    return session.end();
  }

  /** Validates a whole in-memory document (the language server's path). */
  validateText(text: string, kind: FileKind): ValidationResult {
    const session = this.session(true);
    const records: RawRecord[] = [];
    const problems: ArrayProblem[] = [];
    splitText(text, kind, (r) => records.push(r), (p) => problems.push(p));
    for (const r of records) session.push(r);
    for (const p of problems) session.fileProblem(p);
    return session.end();
  }

  /** A streaming session: push records as they are read, then `end()`. Keeps only summaries. */
  session(useCache = false): ValidationSession {
    if (!useCache) return new ValidationSession((record) => this.analyze(record), (summaries) => this.datasetFindings(summaries), this.opts.settings, () => undefined);
    const generation = ++this.generation;
    let used = 0;
    const lookup = (record: RawRecord): CacheEntry => {
      const cache = this.cache;
      let entry = cache.get(record.text);
      if (!entry) {
        entry = { analysis: this.analyze(record), seen: 0 };
        // Answers that wait on a media probe are not kept: the next validation asks again.
        if (!entry.analysis.volatile) cache.set(record.text, entry);
      }
      if (entry.seen !== generation) {
        entry.seen = generation;
        used++;
      }
      return entry;
    };
    return new ValidationSession(
      (record) => lookup(record).analysis,
      (summaries) => this.datasetFindings(summaries),
      this.opts.settings,
      () => {
        // Only the latest validation's records are kept; sweeping once stale entries add up keeps
        // a keystroke from rebuilding the whole cache.
        if (this.cache.size > used + (used >> 3) + 256) {
          for (const [text, entry] of this.cache) if (entry.seen !== generation) this.cache.delete(text);
        }
      },
      lookup,
    );
  }

  /** Analyses one record without the cache (the streaming path re-runs volatile records once their probes finish). */
  analyze(record: RawRecord): RecordAnalysis {
    return analyzeRecord(record, {
      settings: this.opts.settings,
      formatContext: this.formatContext,
      rules: this.opts.rules ?? RECORD_RULES,
      services: this.opts.services ?? {},
      counters: this.counters,
    });
  }

  private datasetFindings(summaries: RecordSummary[]): Finding[] {
    const out: Finding[] = [];
    const ctx = { settings: this.opts.settings, formatContext: this.formatContext };
    for (const rule of this.opts.datasetRules ?? DATASET_RULES) {
      for (const issue of rule.check(summaries, ctx)) {
        const severity = resolveSeverity(issue.code, this.opts.settings);
        if (severity === 'off') continue;
        const s = summaries[issue.record];
        if (!s) continue;
        const finding: Finding = {
          record: issue.record,
          range: toAbsolute(s.line, s.column, issue.rel ?? s.extent),
          severity,
          code: issue.code,
          message: issue.message,
        };
        if (issue.data) finding.data = issue.data;
        if (issue.fixes) {
          finding.fixes = mapFixEdits(issue.fixes, (e) => ({ range: toAbsolute(s.line, s.column, e.rel), newText: e.newText }));
        }
        out.push(finding);
      }
    }
    return out;
  }
}

export class ValidationSession {
  private readonly summaries: RecordSummary[] = [];
  /** Compact summaries, used instead of `summaries` once records arrive in batches (big files). */
  private store: SummaryStore | undefined;
  private readonly findings: Finding[] = [];
  private truncated = false;
  private readonly tally = new Map<string, IssueTally>();
  private readonly errorRecords = new Set<number>();

  constructor(
    private readonly analyze: (r: RawRecord) => RecordAnalysis,
    private readonly dataset: (s: RecordSummary[]) => Finding[],
    private readonly settings: Settings,
    private readonly onEnd: () => void,
    private readonly cached?: (r: RawRecord) => CacheEntry,
  ) {}

  /** Adds a record; `analysis` is its analysis when the caller already has one. */
  push(record: RawRecord, analysis?: RecordAnalysis): void {
    if (this.store) throw new Error('ValidationSession: push() after pushBatch()');
    if (!analysis && this.cached) {
      // A record that has not moved keeps its summary and placed findings from last time.
      const entry = this.cached(record);
      let at = entry.at;
      if (!at || at.index !== record.index || at.line !== record.line || at.column !== record.column) {
        const a = entry.analysis;
        at = {
          index: record.index,
          line: record.line,
          column: record.column,
          summary: { ...a.facts, index: record.index, line: record.line, column: record.column },
          findings: a.issues.map((issue) => locate(record, issue)),
        };
        entry.at = at;
      }
      this.summaries.push(at.summary);
      for (const f of at.findings) this.add(f);
      return;
    }
    analysis ??= this.analyze(record);
    this.summaries.push({ ...analysis.facts, index: record.index, line: record.line, column: record.column });
    for (const issue of analysis.issues) this.add(locate(record, issue));
  }

  /**
   * Adds a batch of records analysed elsewhere (a worker thread, see core/batch.ts), in file
   * order. `line[k]`/`column[k]` place its records; their indexes follow the records already in.
   * Summaries are then kept compact (SummaryStore), which is what lets a 1 GB file validate in
   * bounded memory.
   */
  /** Keeps the summaries compact from the start, with `extra` facts in `spill` (call before adding records). */
  compactSummaries(spill?: ExtraSpill): void {
    if (this.store || this.summaries.length > 0) throw new Error('ValidationSession: compactSummaries() after records were added');
    this.store = new SummaryStore(spill);
  }

  pushBatch(batch: BatchOutput, line: ArrayLike<number>, column: ArrayLike<number>): void {
    if (!this.store) {
      if (this.summaries.length > 0) throw new Error('ValidationSession: pushBatch() after push()');
      this.store = new SummaryStore();
    }
    const first = this.store.length;
    this.store.append(batch.facts, line, column);
    for (const [k, issues] of batch.issues) {
      for (const issue of issues) this.add(placeFinding(first + k, line[k]!, column[k]!, issue));
    }
  }

  fileProblem(p: ArrayProblem): void {
    this.add({
      record: -1,
      range: { start: { line: p.line, character: p.column }, end: { line: p.line, character: p.column + (p.width ?? 1) } },
      severity: 'error',
      code: 'invalid-json',
      message: `${p.message} Loaders fail to read the whole file.`,
    });
  }

  end(): ValidationResult {
    const summaries = this.store ? this.store.view() : this.summaries;
    for (const f of this.dataset(summaries)) this.add(f);
    this.findings.sort(byPosition);
    this.onEnd();
    return {
      findings: this.findings,
      summaries,
      format: dominantFormat(summaries),
      records: summaries.length,
      truncated: this.truncated,
      tally: [...this.tally.values()],
      errorRecords: this.errorRecords.size,
    };
  }

  private add(f: Finding): void {
    const key = `${f.code}\0${f.severity}`;
    const t = this.tally.get(key);
    if (t) {
      t.count++;
      if (f.range.start.line < t.firstLine) t.firstLine = f.range.start.line;
    } else this.tally.set(key, { code: f.code, severity: f.severity, count: 1, firstLine: f.range.start.line });
    if (f.severity === 'error' && f.record >= 0) this.errorRecords.add(f.record);
    if (this.findings.length >= this.settings.maxProblems) {
      this.truncated = true;
      return;
    }
    this.findings.push(f);
  }
}

function locate(record: RawRecord, issue: LocatedIssue): Finding {
  return placeFinding(record.index, record.line, record.column, relFinding(record.text, issue));
}

/** A record-relative finding placed at its record's position (both validation paths end here). */
export function placeFinding(index: number, line: number, column: number, issue: RelFinding): Finding {
  const f: Finding = {
    record: index,
    range: toAbsolute(line, column, issue.rel),
    severity: issue.severity,
    code: issue.code,
    message: issue.message,
  };
  if (issue.data) f.data = issue.data;
  if (issue.fixes) {
    f.fixes = mapFixEdits(issue.fixes, (e) => ({ range: toAbsolute(line, column, e.rel), newText: e.newText }));
  }
  return f;
}

function byPosition(a: Finding, b: Finding): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}

/** Splits an in-memory document into records. */
export function splitText(text: string, kind: FileKind, onRecord: (r: RawRecord) => void, onProblem: (p: ArrayProblem) => void = () => undefined): void {
  if (kind === 'jsonl') {
    const s = new JsonlSplitter(onRecord);
    s.push(text);
    s.end();
  } else {
    const s = new JsonArrayScanner(onRecord, onProblem);
    s.push(text);
    s.end();
  }
}

/** A line JsonlSplitter skips: only spaces, tabs, CRs and BOMs. */
function isBlankLine(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}
