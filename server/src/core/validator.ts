import { analyzeRecord, resolveSeverity, type LocatedIssue, type RecordAnalysis } from './analyze';
import { relFinding, type BatchOutput, type RelFinding } from './batch';
import { SummaryStore, type ExtraSpill } from './summaryStore';
import { mapFixEdits } from './fixes';
import type { FormatContext } from './formats';
import { JsonArrayScanner, type ArrayProblem } from './records/jsonArray';
import { JsonlSplitter } from './records/jsonl';
import { toAbsolute, type AbsoluteRange } from './records/positions';
import { DATASET_RULES, RECORD_RULES, REPORT_RULES, type DatasetRule, type RecordRule, type RuleServices } from './rules';
import { dominantFormat, FormatCounter } from './rules/dataset';
import type { DatasetIssue, DatasetRuleState, DatasetView, TrackedRecords } from './rules/rule';
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
  /**
   * Also record the facts only the dataset report reads (the near-duplicate signature, the
   * costliest per-record work): on for reports, off while validating. Ignored when `rules` is given.
   */
  reportFacts?: boolean;
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
  /** Optional: all lines at once (what `lineText` returns), read only, for a quick comparison with the last validation's. */
  lineTexts?(): readonly string[];
}

/** A cached analysis, with what was built from it at the record's last position (reused while the record does not move). */
interface CacheEntry extends TrackedRecords {
  analysis: RecordAnalysis;
  /** The validation that last used the entry; entries unused by the latest one are swept. */
  seen: number;
  at: { index: number; line: number; column: number; summary: RecordSummary; findings: Finding[] } | undefined;
  /** How many records of the validation `seen` have this text, and their positions (`first`, then `more`). */
  uses: number;
  first: number;
  more: number[] | undefined;
  /** How many records the incremental dataset rules count with these facts. */
  live: number;
}

function newEntry(analysis: RecordAnalysis): CacheEntry {
  return { analysis, facts: analysis.facts, seen: 0, at: undefined, uses: 0, first: -1, more: undefined, live: 0 };
}

/** Dataset rules kept across validations, fed with the record groups that changed (see `DatasetRuleState`). */
interface IncrementalRules {
  formats: FormatCounter;
  /** Per dataset rule, its state, or undefined for rules without an incremental form. */
  states: (DatasetRuleState | undefined)[];
  /** Entries counted by the states (live > 0). */
  live: Set<CacheEntry>;
}

/** Brings the incremental rules' count of `entry`'s records to `to` (entries counted by none leave `live`). */
function settle(inc: IncrementalRules, entry: CacheEntry, to: number): void {
  const from = entry.live;
  if (from === to) return;
  if (from === 0) inc.live.add(entry);
  else if (to === 0) inc.live.delete(entry);
  inc.formats.update(entry, from, to);
  for (const state of inc.states) state?.update(entry, from, to);
  entry.live = to;
}

/** The last `validateLines` validation, kept so the next one can touch only the lines that changed. */
interface LinesState {
  /** The validation (`generation`) it describes; any other cached validation since makes it stale. */
  generation: number;
  /** Each line's text as validated (the same string objects the document hands out while unchanged). */
  lines: string[];
  /** The record index of each line, -1 for blank lines. */
  recordOf: Int32Array;
  /** Per record: its cache entry, summary, and placed findings (undefined when none). */
  entries: CacheEntry[];
  summaries: RecordSummary[];
  findings: (readonly Finding[] | undefined)[];
  /** The records that have findings, ascending. */
  withFindings: number[];
  /** Lines whose record's analysis waited on a media probe: they are analysed again, as if edited. */
  volatile: number[];
}

/** More changed lines than this and a validation goes through every line again. */
const MAX_CHANGED_LINES = 256;

/**
 * Validates dataset files. Keeps a cache of record analyses keyed by record text, so validating
 * an edited document re-runs the rules only on records whose text changed; dataset rules then
 * run over the small per-record summaries.
 */
export class DatasetValidator {
  readonly counters = { ruleInvocations: 0, recordsAnalyzed: 0 };
  private cache = new Map<string, CacheEntry>();
  private generation = 0;
  private incremental: IncrementalRules | undefined;
  private lastLines: LinesState | undefined;
  /** What formats and rules see besides the record (hover and preview re-read records with it). */
  readonly formatContext: FormatContext;

  private withReportFacts: boolean;

  constructor(private readonly opts: ValidatorOptions) {
    this.withReportFacts = opts.reportFacts === true;
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
      if (analysis && !analysis.volatile && !this.cache.has(texts[i]!)) this.cache.set(texts[i]!, newEntry(analysis));
    }
  }

  /** Forgets cached analyses (settings or media changed). */
  /** Whether analyses carry the report's facts (see `ValidatorOptions.reportFacts`). */
  get reportFacts(): boolean {
    return this.withReportFacts;
  }

  /**
   * From now on, analyses carry the report's facts too (a report was asked for an open document);
   * the records analysed without them are analysed again, once.
   */
  enableReportFacts(): void {
    if (this.withReportFacts) return;
    this.withReportFacts = true;
    this.clearCache();
  }

  clearCache(): void {
    this.cache = new Map();
    this.lastLines = undefined;
  }

  /** Drops cached analyses of records whose text matches (e.g. records that mention a media file that appeared). */
  invalidateWhere(pred: (text: string) => boolean): void {
    let dropped = false;
    for (const key of this.cache.keys()) {
      if (!pred(key)) continue;
      this.cache.delete(key);
      dropped = true;
    }
    // Lines whose records stay cached keep their analyses: the last validation still holds.
    if (dropped) this.lastLines = undefined;
  }

  /**
   * Validates a JSON Lines document given as lines, with the same answers as `validateText`. Its
   * unchanged lines are the same strings as last time, so finding them in the cache costs no
   * hashing, and their summaries and findings are reused while they stay on the same line: an
   * edit costs the records it touched plus the dataset rules.
   */
  validateLines(doc: LineSource): ValidationResult {
    const quick = this.validateChangedLines(doc);
    if (quick) return quick;
    let entry: CacheEntry | undefined;
    const session = this.cachedSession((e) => (entry = e));
    const n = doc.lineCount;
    const state: LinesState = { generation: this.generation, lines: new Array<string>(n), recordOf: new Int32Array(n).fill(-1), entries: [], summaries: [], findings: [], withFindings: [], volatile: [] };
    let index = 0;
    // As JsonlSplitter: a BOM at the start of the file is not part of the first record, nor counted in offsets.
    const bom = n > 0 && doc.lineText(0).charCodeAt(0) === 0xfeff ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const raw = doc.lineText(i);
      state.lines[i] = raw;
      const text = i === 0 && bom ? raw.slice(1) : raw;
      if (isBlankLine(text)) continue;
      state.recordOf[i] = index;
      session.push({ index: index++, offset: doc.lineOffset(i) - bom, line: i, column: 0, text });
      // The entry's placement is this record's until another record with the same text is pushed.
      const at = entry!.at!;
      state.entries.push(entry!);
      state.summaries.push(at.summary);
      state.findings.push(at.findings.length ? at.findings : undefined);
      if (at.findings.length) state.withFindings.push(index - 1);
      if (entry!.analysis.volatile) state.volatile.push(i);
    }
    const result = session.end();
    this.lastLines = this.incremental ? state : undefined;
    return result;
  }

  /**
   * `validateLines` for a document whose lines are the last validation's but for a few edited in
   * place (a keystroke): only those records are looked up, their records' counts handed to the
   * incremental dataset rules, and the rest reused by reference. Undefined when the shortcut does
   * not apply (lines added or removed, a line turning blank, the first line, media probes pending).
   */
  private validateChangedLines(doc: LineSource): ValidationResult | undefined {
    const state = this.lastLines;
    const inc = this.incremental;
    if (!state || !inc || state.generation !== this.generation || doc.lineCount !== state.lines.length) return undefined;
    const changed: number[] = [];
    const n = doc.lineCount;
    // Unchanged lines are the same string objects: comparing references reads no text.
    const now = doc.lineTexts?.();
    const before = state.lines;
    for (let i = 0; i < n; i++) {
      if ((now ? now[i] : doc.lineText(i)) === before[i]) continue;
      const text = doc.lineText(i);
      if (i === 0 || changed.length >= MAX_CHANGED_LINES || isBlankLine(text) !== state.recordOf[i]! < 0 || state.recordOf[i]! < 0) return undefined;
      changed.push(i);
    }
    // Records that waited on a media probe are asked again (the slow path does so on every validation).
    for (const i of state.volatile) if (doc.lineText(i) === state.lines[i]) changed.push(i);
    state.volatile = [];
    const generation = this.generation;
    const touched = new Set<CacheEntry>();
    for (const i of changed) {
      const text = doc.lineText(i);
      const k = state.recordOf[i]!;
      const old = state.entries[k]!;
      removePosition(old, k);
      touched.add(old);
      let entry = this.cache.get(text);
      if (!entry) {
        entry = newEntry(this.analyze({ index: k, offset: doc.lineOffset(i), line: i, column: 0, text }));
        if (entry.analysis.volatile) state.volatile.push(i);
        else this.cache.set(text, entry);
      }
      addPosition(entry, k, generation);
      touched.add(entry);
      let at = entry.at;
      if (!at || at.index !== k || at.line !== i || at.column !== 0) {
        const a = entry.analysis;
        const record: RawRecord = { index: k, offset: doc.lineOffset(i), line: i, column: 0, text };
        at = { index: k, line: i, column: 0, summary: { ...a.facts, index: k, line: i, column: 0 }, findings: a.issues.map((issue) => locate(record, issue)) };
        entry.at = at;
      }
      state.lines[i] = text;
      state.entries[k] = entry;
      state.summaries[k] = at.summary;
      const had = state.findings[k] !== undefined;
      state.findings[k] = at.findings.length ? at.findings : undefined;
      if (had !== at.findings.length > 0) updateSorted(state.withFindings, k, !had);
    }
    const { summaries, findings, withFindings } = state;
    const session = new ValidationSession(
      () => {
        throw new Error('ValidationSession: records are placed, not analysed');
      },
      (all) => this.updatedFindings(all, inc, touched, generation),
      this.opts.settings,
      () => this.sweep(summaries.length, generation),
    );
    session.place(summaries, findings, withFindings);
    return session.end();
  }

  /** Hands the incremental rules the entries whose record counts changed, then asks them for their issues. */
  private updatedFindings(summaries: RecordSummary[], inc: IncrementalRules, touched: Iterable<CacheEntry>, generation: number): Finding[] {
    for (const entry of touched) settle(inc, entry, entry.uses);
    return this.incrementalIssues(summaries, inc, generation);
  }

  /** Drops cache entries the latest validation did not use, once they add up. */
  private sweep(used: number, generation: number): void {
    if (this.cache.size > used + (used >> 3) + 256) {
      for (const [text, entry] of this.cache) if (entry.seen !== generation) this.cache.delete(text);
    }
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
    return this.cachedSession();
  }

  /** A session through the record cache; `onEntry` sees the cache entry of each record pushed. */
  private cachedSession(onEntry?: (entry: CacheEntry) => void): ValidationSession {
    const generation = ++this.generation;
    let used = 0;
    // The entries this validation uses, each once; `position` counts the summaries they stand for.
    const touched: CacheEntry[] = [];
    let position = 0;
    const lookup = (record: RawRecord): CacheEntry => {
      const cache = this.cache;
      let entry = cache.get(record.text);
      if (!entry) {
        entry = newEntry(this.analyze(record));
        // Answers that wait on a media probe are not kept: the next validation asks again.
        if (!entry.analysis.volatile) cache.set(record.text, entry);
      }
      if (entry.seen !== generation) {
        entry.seen = generation;
        entry.uses = 1;
        entry.first = position++;
        entry.more = undefined;
        touched.push(entry);
        used++;
      } else {
        entry.uses++;
        (entry.more ??= []).push(position++);
      }
      onEntry?.(entry);
      return entry;
    };
    return new ValidationSession(
      (record) => lookup(record).analysis,
      // Every record came through the cache: the dataset rules need to hear only what changed.
      (summaries) => (position === summaries.length ? this.incrementalFindings(summaries, touched, generation) : this.datasetFindings(summaries)),
      this.opts.settings,
      // Only the latest validation's records are kept; sweeping once stale entries add up keeps
      // a keystroke from rebuilding the whole cache.
      () => this.sweep(used, generation),
      lookup,
    );
  }

  /** Analyses one record without the cache (the streaming path re-runs volatile records once their probes finish). */
  analyze(record: RawRecord): RecordAnalysis {
    return analyzeRecord(record, {
      settings: this.opts.settings,
      formatContext: this.formatContext,
      rules: this.opts.rules ?? (this.reportFacts ? REPORT_RULES : RECORD_RULES),
      services: this.opts.services ?? {},
      counters: this.counters,
    });
  }

  private datasetFindings(summaries: RecordSummary[]): Finding[] {
    const ctx = { settings: this.opts.settings, formatContext: this.formatContext };
    return this.placeDatasetIssues(
      summaries,
      (this.opts.datasetRules ?? DATASET_RULES).map((rule) => rule.check(summaries, ctx)),
    );
  }

  /**
   * The dataset findings of a validation whose records all came through the cache: the rules'
   * kept counts are updated from the entries whose number of records changed since the last such
   * validation (records sharing a text share an entry), then asked for their issues.
   */
  private incrementalFindings(summaries: RecordSummary[], touched: readonly CacheEntry[], generation: number): Finding[] {
    const ctx = { settings: this.opts.settings, formatContext: this.formatContext };
    const rules = this.opts.datasetRules ?? DATASET_RULES;
    const inc = (this.incremental ??= { formats: new FormatCounter(), states: rules.map((r) => r.incremental?.(ctx)), live: new Set() });
    const wasLive = inc.live.size;
    let stillLive = 0;
    for (const entry of touched) {
      if (entry.live > 0) stillLive++;
      settle(inc, entry, entry.uses);
    }
    // Entries counted last time but unused now: their records left (an edit changes a record's text).
    if (stillLive < wasLive) {
      for (const entry of inc.live) if (entry.seen !== generation) settle(inc, entry, 0);
    }
    return this.incrementalIssues(summaries, inc, generation);
  }

  private incrementalIssues(summaries: RecordSummary[], inc: IncrementalRules, generation: number): Finding[] {
    const ctx = { settings: this.opts.settings, formatContext: this.formatContext };
    const rules = this.opts.datasetRules ?? DATASET_RULES;
    const view: DatasetView = {
      summaries,
      positions: (group) => {
        const entry = group as CacheEntry;
        if (entry.seen !== generation) return [];
        return entry.more ? [entry.first, ...entry.more] : [entry.first];
      },
    };
    // The dominant format, for the rules that ask and for the result, from the kept counts.
    inc.formats.tally(summaries);
    return this.placeDatasetIssues(
      summaries,
      rules.map((rule, i) => inc.states[i]?.issues(view) ?? rule.check(summaries, ctx)),
    );
  }

  private placeDatasetIssues(summaries: readonly RecordSummary[], issuesByRule: readonly DatasetIssue[][]): Finding[] {
    const out: Finding[] = [];
    for (const issues of issuesByRule) {
      for (const issue of issues) {
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
  private summaries: RecordSummary[] = [];
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
   * Adds the records of an earlier validation, already placed (`validateLines` reusing the last
   * one): their summaries, their findings by record, and which records have findings.
   */
  place(summaries: readonly RecordSummary[], findings: readonly (readonly Finding[] | undefined)[], withFindings: readonly number[]): void {
    if (this.store || this.summaries.length > 0) throw new Error('ValidationSession: place() after records were added');
    this.summaries = summaries.slice();
    for (const k of withFindings) for (const f of findings[k]!) this.add(f);
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

/** Takes position `k` out of an entry's positions in the current validation. */
function removePosition(entry: CacheEntry, k: number): void {
  entry.uses--;
  if (entry.uses === 0) {
    // Unused now: stale for the sweep, positionless for the rules.
    entry.seen = -1;
    entry.more = undefined;
    entry.first = -1;
    return;
  }
  if (entry.first === k) entry.first = entry.more!.shift()!;
  else entry.more!.splice(entry.more!.indexOf(k), 1);
  if (entry.more!.length === 0) entry.more = undefined;
}

/** Adds position `k` to an entry's positions in validation `generation`, keeping them ascending. */
function addPosition(entry: CacheEntry, k: number, generation: number): void {
  if (entry.seen !== generation) {
    entry.seen = generation;
    entry.uses = 1;
    entry.first = k;
    entry.more = undefined;
    return;
  }
  entry.uses++;
  const all = entry.more ? [entry.first, ...entry.more] : [entry.first];
  let at = all.length;
  while (at > 0 && all[at - 1]! > k) at--;
  all.splice(at, 0, k);
  entry.first = all[0]!;
  entry.more = all.slice(1);
}

/** Adds `k` to (or removes it from) an ascending array. */
function updateSorted(sorted: number[], k: number, add: boolean): void {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  if (add) sorted.splice(lo, 0, k);
  else if (sorted[lo] === k) sorted.splice(lo, 1);
}
